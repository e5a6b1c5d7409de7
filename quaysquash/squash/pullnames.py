"""The reserved registry namespaces under which squashed images are pullable.

``squashed/<ns>/<repo>`` is the gzip-compressed squashed form of ``<ns>/<repo>`` (every client
reads it), ``squashed-zstd/<ns>/<repo>`` the zstd one (containerd ≥ 1.5, podman, recent docker).
The namespaces themselves are account rules (no account may own them), so they are defined in
``accounts/names.py``; the token endpoint uses this module too.
"""

from __future__ import annotations

from dataclasses import dataclass

from quaysquash.accounts.names import SQUASHED_SCHEMES as SCHEMES


@dataclass(frozen=True)
class SquashedName:
    scheme: str  # "squashed" or "squashed-zstd"
    source: str  # the source repository, "<ns>/<repo>"

    @property
    def compression(self) -> str:
        return SCHEMES[self.scheme]

    @property
    def full_name(self) -> str:
        return f"{self.scheme}/{self.source}"


def parse(name: str) -> SquashedName | None:
    """The squashed name ``name`` stands for, or None if it is an ordinary repository name."""
    scheme, sep, source = name.partition("/")
    if not sep or scheme not in SCHEMES or "/" not in source:
        return None
    return SquashedName(scheme, source)


def reference(
    host: str, repository: str, tag: str = "", *, digest: str = "", zstd: bool = False
) -> str:
    """``host/squashed/<repository>:<tag>``, or ``@<digest>`` (a squashed manifest's digest)."""
    scheme = "squashed-zstd" if zstd else "squashed"
    return f"{host}/{scheme}/{repository}" + (f"@{digest}" if digest else f":{tag}")


def pull_command(host: str, repository: str, tag: str, *, zstd: bool = False) -> str:
    """The plain ``docker pull`` of the squashed image of ``repository:tag``."""
    return f"docker pull {reference(host, repository, tag, zstd=zstd)}"

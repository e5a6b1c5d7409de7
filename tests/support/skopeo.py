"""skopeo against the plain-HTTP registries of the suite (no TLS on loopback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .commands import run_checked
from .tools import require


def skopeo(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """``skopeo <args>``; returns stdout, fails the test with stderr on an error."""
    return run_checked(
        [require("skopeo"), *args], what=f"skopeo {args[0]}", env=env, timeout=timeout
    ).stdout


def push(source: str, dest: str, creds: str | None, *extra: str, **options: Any) -> None:
    """Copy ``source`` (e.g. ``oci:dir:tag``) to ``docker://`` ref ``dest`` as ``user:secret``;
    ``options``: ``env``, ``timeout``."""
    _copy("dest", source, dest, creds, extra, **options)


def pull(source: str, dest: str, creds: str | None, *extra: str, **options: Any) -> None:
    """Copy ``docker://`` ref ``source`` to ``dest`` (e.g. ``oci:dir:tag``) as ``user:secret``."""
    _copy("src", source, dest, creds, extra, **options)


def _copy(
    side: str, source: str, dest: str, creds: str | None, extra: tuple[str, ...], **options: Any
) -> None:
    # Only the registry side of the copy speaks plain HTTP and takes credentials.
    auth = [f"--{side}-creds", creds] if creds else []
    skopeo("copy", f"--{side}-tls-verify=false", *auth, *extra, source, dest, **options)

"""skopeo against the plain-HTTP registries of the suite (no TLS on loopback)."""

from __future__ import annotations

from collections.abc import Mapping

from .commands import run_checked
from .tools import require


def skopeo(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """``skopeo <args>``; returns stdout, fails the test with stderr on an error."""
    return run_checked(
        [require("skopeo"), *args], what=f"skopeo {args[0]}", env=env, timeout=timeout
    ).stdout


def push(
    source: str,
    dest: str,
    creds: str | None,
    *extra: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> None:
    """Copy ``source`` (e.g. ``oci:dir:tag``) to ``docker://`` ref ``dest`` as ``user:secret``."""
    auth = ["--dest-creds", creds] if creds else []
    skopeo("copy", "--dest-tls-verify=false", *auth, *extra, source, dest, env=env, timeout=timeout)


def pull(
    source: str,
    dest: str,
    creds: str | None,
    *extra: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> None:
    """Copy ``docker://`` ref ``source`` to ``dest`` (e.g. ``oci:dir:tag``) as ``user:secret``."""
    auth = ["--src-creds", creds] if creds else []
    skopeo("copy", "--src-tls-verify=false", *auth, *extra, source, dest, env=env, timeout=timeout)

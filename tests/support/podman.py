"""A private podman for client tests: vfs storage and an auth file of its own, so it needs no
privileges the machine may lack and shares nothing with the host's podman."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .commands import run_checked
from .tools import require


class Podman:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        # podman refuses a runroot longer than 50 characters; pytest's tmp_path is longer.
        self.store = Path(tempfile.mkdtemp(prefix="qspm-", dir="/tmp"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.base = [
            require("podman"), "--storage-driver", "vfs",
            "--root", str(self.store / "root"), "--runroot", str(self.store / "run"),
            # Its libpod state too: by default in /run/libpod, which every podman shares.
            "--tmpdir", str(self.store / "tmp"),
        ]  # fmt: skip
        self.env = {
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "REGISTRY_AUTH_FILE": str(self.home / "auth.json"),
        }

    def __call__(self, *args: str, input: str | None = None, timeout: float = 600) -> str:
        """``podman <args>``; returns its stdout, fails the test with stderr on an error."""
        return run_checked(
            [*self.base, *args],
            what=f"podman {' '.join(args)}",
            env=self.env,
            input=input,
            timeout=timeout,
        ).stdout

    def login(self, registry: str, username: str, secret: str) -> None:
        # Plain HTTP on loopback: the registries under test have no TLS. The secret goes on
        # stdin: a failure message shows the command line.
        self("login", "--tls-verify=false", "-u", username, "--password-stdin", registry,
             input=secret)  # fmt: skip

    def pull(self, ref: str) -> str:
        """Pull over plain HTTP; returns the image ID."""
        return self("pull", "-q", "--tls-verify=false", ref).strip()

    def close(self) -> None:
        shutil.rmtree(self.store, ignore_errors=True)

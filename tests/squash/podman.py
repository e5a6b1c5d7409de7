"""A podman of one test: the vfs driver (no kernel overlay needed), its storage in a directory
of its own under /tmp and its login in the test's HOME. Shared by the squash and proxy tests."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.tools import require


@contextmanager
def private_podman(home: Path, timeout: float = 600) -> Iterator[Callable[..., str]]:
    """Yields ``run(*args)``: podman with those arguments, which must succeed; returns its
    output. The storage is removed afterwards."""
    # podman refuses a runroot longer than 50 characters; pytest's tmp_path is longer.
    storage = Path(tempfile.mkdtemp(prefix="qspm-", dir="/tmp"))
    podman = [
        require("podman"), "--storage-driver", "vfs",
        "--root", str(storage / "root"), "--runroot", str(storage / "run"),
    ]  # fmt: skip
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "REGISTRY_AUTH_FILE": str(home / "auth.json"),
    }

    def run(*args: str) -> str:
        result = subprocess.run(
            [*podman, *args], capture_output=True, text=True, env=env, timeout=timeout
        )
        assert result.returncode == 0, f"podman {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    try:
        yield run
    finally:
        # podman's own cleanup first, then whatever is left of its directories.
        subprocess.run([*podman, "system", "reset", "--force"], capture_output=True, env=env)
        shutil.rmtree(storage, ignore_errors=True)

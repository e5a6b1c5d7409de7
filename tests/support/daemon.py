"""A system daemon (dockerd, containerd) run privately for the suite: everything it owns under
one temp dir, reached through a unix socket there, and gone, mounts included, after ``stop``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from .server_process import ServerProcess


class UnixSocketDaemon(ServerProcess):
    socket_name = "daemon.sock"
    # Directories under workdir where the daemon mounts things (overlays, netns).
    mounts: tuple[str, ...] = ()

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.socket = self.workdir / self.socket_name

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        # The client would only time out on a socket that is not there yet.
        super().wait_ready(lambda: self.socket.exists() and ready(), timeout)

    def stop(self) -> None:
        super().stop()
        # A daemon that had to be killed leaves its mounts behind.
        for mounted in self.mounts:
            subprocess.run(["umount", "-R", str(self.workdir / mounted)], capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

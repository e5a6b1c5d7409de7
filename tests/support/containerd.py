"""A private containerd for tests: its own root, state and sockets under a temp dir, the CRI
plugin off, so it shares nothing with a system containerd (or the one dockerd starts)."""

from __future__ import annotations

import subprocess

from .commands import run_checked
from .daemon import UnixSocketDaemon
from .tools import require


class Containerd(UnixSocketDaemon):
    log_name = "containerd.log"
    label = "containerd"
    socket_name = "containerd.sock"
    stop_timeout = 30.0
    mounts = ("root",)

    def start(self, timeout: float = 30) -> Containerd:
        binary = require("containerd")
        self.ctr_bin = require("ctr")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.workdir / "root"}"\n'
            f'state = "{self.workdir / "state"}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{self.socket}"\n'
            f'[ttrpc]\n  address = "{self.socket}.ttrpc"\n'
            f'[debug]\n  address = "{self.workdir / "debug.sock"}"\n'
        )
        self.launch(
            [binary, "--config", str(config)],
            lambda: self.ctr("version", check=False).returncode == 0,
            timeout,
        )
        return self

    def ctr(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        return run_checked(
            [self.ctr_bin, "--address", str(self.socket), *args],
            what=f"ctr {' '.join(args)}",
            check=check,
            timeout=timeout,
        )

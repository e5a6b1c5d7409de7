"""A private containerd for tests: its own root, state and sockets under a temp dir, the CRI
plugin off, so it shares nothing with a system containerd (or the one dockerd starts)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .tools import require


class Containerd:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.socket = self.workdir / "containerd.sock"
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "containerd.log"

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
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary, "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"containerd exited:\n{self.log_path.read_text()[-3000:]}")
            if self.socket.exists() and self.ctr("version", check=False).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"containerd did not start:\n{self.log_path.read_text()[-3000:]}")

    def ctr(self, *args: str, check: bool = True, timeout: float = 600):
        result = subprocess.run(
            [self.ctr_bin, "--address", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed:\n{result.stderr}")
        return result

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        subprocess.run(["umount", "-R", str(self.workdir / "root")], capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

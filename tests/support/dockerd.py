"""A private Docker engine for tests: its own data-root, exec-root and socket under a temp dir,
no iptables and no bridge, so it touches nothing of the host's and cannot reach a network."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .tools import require


class Dockerd:
    def __init__(
        self, workdir: Path, *, netns: str | None = None, insecure: tuple[str, ...] = ()
    ) -> None:
        """``netns``: a network namespace (``ip netns add``) the daemon runs in, so its pulls
        cross that namespace's links; ``insecure``: more insecure-registries (CIDRs or hosts)."""
        self.workdir = Path(workdir)
        self.netns = netns
        self.insecure = insecure
        self.socket = self.workdir / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "dockerd.log"

    def start(self, timeout: float = 60) -> Dockerd:
        dockerd = require("dockerd")
        self.docker_bin = require("docker")
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "daemon.json"
        config.write_text(
            json.dumps(
                {
                    "iptables": False,
                    "ip6tables": False,
                    "bridge": "none",
                    "data-root": str(self.workdir / "data"),
                    "exec-root": str(self.workdir / "exec"),
                    "pidfile": str(self.workdir / "dockerd.pid"),
                    "hosts": [self.host],
                    # Loopback registries are insecure by default in Docker; say it anyway.
                    "insecure-registries": ["127.0.0.0/8", *self.insecure],
                }
            )
        )
        log = open(self.log_path, "wb")
        # nsenter (not ``ip netns exec``) enters only the network namespace: the daemon's
        # mounts stay in the host's mount namespace, where ``stop`` unmounts them.
        enter = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        self.process = subprocess.Popen(
            [*enter, dockerd, "--config-file", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited:\n{self.log_path.read_text()[-3000:]}")
            if self.socket.exists():
                probe = self.docker("version", check=False)
                if probe.returncode == 0:
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"dockerd did not start:\n{self.log_path.read_text()[-3000:]}")

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.workdir / "client-config")
        return env

    def docker(
        self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.docker_bin, *args],
            env=self.env,
            input=input,
            capture_output=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr.decode(errors='replace')}"
            )
        return result

    def run(self, image: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """``docker run --rm`` of a local image, offline: never pulled (a missing image fails
        instead of reaching Docker Hub) and without a network."""
        return self.docker(
            "run", "--rm", "--pull", "never", "--network", "none", image, *command, check=check
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # A dockerd that had to be killed leaves its overlay and netns mounts behind.
        for mounted in ("data", "exec"):
            subprocess.run(["umount", "-R", str(self.workdir / mounted)], capture_output=True)
        shutil.rmtree(self.workdir, ignore_errors=True)

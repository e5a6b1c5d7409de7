"""A private Docker engine for tests: its own data-root, exec-root and socket under a temp dir,
no iptables and no bridge, so it touches nothing of the host's and cannot reach a network."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .commands import run_checked
from .daemon import UnixSocketDaemon
from .tools import require


class Dockerd(UnixSocketDaemon):
    log_name = "dockerd.log"
    label = "dockerd"
    socket_name = "docker.sock"
    stop_timeout = 30.0
    mounts = ("data", "exec")

    def __init__(
        self, workdir: Path, *, netns: str | None = None, insecure: tuple[str, ...] = ()
    ) -> None:
        """``netns``: a network namespace (``ip netns add``) the daemon runs in, so its pulls
        cross that namespace's links; ``insecure``: more insecure-registries (CIDRs or hosts)."""
        super().__init__(workdir)
        self.netns = netns
        self.insecure = insecure

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

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
        # nsenter (not ``ip netns exec``) enters only the network namespace: the daemon's
        # mounts stay in the host's mount namespace, where ``stop`` unmounts them.
        enter = ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []
        self.launch(
            [*enter, dockerd, "--config-file", str(config)],
            lambda: self.docker("version", check=False).returncode == 0,
            timeout,
        )
        return self

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.workdir / "client-config")
        return env

    def docker(
        self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """``docker <args>`` against this engine; output is bytes (images are saved through it)."""
        return run_checked(
            [self.docker_bin, *args],
            what=f"docker {' '.join(args)}",
            env=self.env,
            input=input,
            check=check,
            text=False,
            timeout=timeout,
        )

    def login(
        self, registry: str, username: str, secret: str, *, check: bool = True
    ) -> subprocess.CompletedProcess:
        """``docker login`` with the secret on stdin (never on the command line)."""
        return self.docker(
            "login", registry, "-u", username, "--password-stdin", input=secret.encode(),
            check=check,
        )  # fmt: skip

    @contextmanager
    def logged_in(
        self, registry: str, username: str, secret: str
    ) -> Iterator[subprocess.CompletedProcess]:
        """Logged in to ``registry`` for the block (yields the login's result), then logged out
        so that the session-wide engine carries no credentials into other tests."""
        login = self.login(registry, username, secret)
        assert b"Login Succeeded" in login.stdout, login.stdout
        try:
            yield login
        finally:
            self.docker("logout", registry, check=False)

    def pull(self, *refs: str) -> None:
        for ref in refs:
            self.docker("pull", ref)

    def run(self, image: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """``docker run --rm`` of a local image, offline: never pulled (a missing image fails
        instead of reaching Docker Hub) and without a network."""
        return self.docker(
            "run", "--rm", "--pull", "never", "--network", "none", image, *command, check=check
        )

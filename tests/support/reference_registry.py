"""Debian's ``docker-registry`` (CNCF distribution) on a free loopback port, for tests and
benchmarks: filesystem storage in a temp dir, anonymous or with htpasswd Basic auth, and
``DELETE`` enabled so tests can move tags as an upstream would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .server_process import HttpAddress, LoopbackServer
from .tools import require


class ReferenceRegistry(HttpAddress, LoopbackServer):
    log_name = "registry.log"
    label = "docker-registry"

    def __init__(
        self,
        workdir: Path,
        *,
        username: str | None = None,
        password: str | None = None,
        port: int | None = None,
        quiet: bool = False,
    ) -> None:
        """``quiet``: errors only, no access log (benchmarks: logging costs time)."""
        super().__init__(workdir, port)
        self.username = username
        self.password = password
        self.quiet = quiet

    @property
    def creds(self) -> str | None:
        return f"{self.username}:{self.password}" if self.username else None

    def _htpasswd(self) -> str:
        # distribution only accepts bcrypt entries; apache2-utils' htpasswd writes them (-B).
        path = self.workdir / "htpasswd"
        subprocess.run(
            [require("htpasswd"), "-Bbc", "-C", "4", str(path), self.username, self.password],
            check=True,
            capture_output=True,
        )
        return f"auth:\n  htpasswd:\n    realm: test-upstream\n    path: {path}\n"

    def start(self, timeout: float = 30) -> ReferenceRegistry:
        binary = require("docker-registry")
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        auth = self._htpasswd() if self.username else ""
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"log:\n  level: {'error' if self.quiet else 'info'}\n"
            f"  accesslog:\n    disabled: {'true' if self.quiet else 'false'}\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            "  delete:\n    enabled: true\n"
            "  cache:\n    blobdescriptor: inmemory\n"
            f"http:\n  addr: {self.host}\n"
            f"{auth}"
        )
        self.launch([binary, "serve", str(config)], self._answers, timeout)
        return self

    def _answers(self) -> bool:
        import requests

        try:
            # 401 from an htpasswd registry is an answer too: it is up.
            return requests.get(self.url + "/v2/", timeout=1).status_code in (200, 401)
        except requests.RequestException:
            return False

    def restart(self, timeout: float = 30) -> ReferenceRegistry:
        """Start again on the same port with the same storage (after ``stop``)."""
        return self.start(timeout)

"""Debian's nginx for the suite: a front end (X-Accel, redirects) on a free loopback port."""

from __future__ import annotations

from pathlib import Path

from .server_process import HttpAddress, LoopbackServer
from .tools import require
from .waiting import port_open


class NginxServer(HttpAddress, LoopbackServer):
    """Debian's nginx on a free loopback port, serving the ``locations`` given (the body of
    its one ``server`` block), with every temporary path inside ``workdir``."""

    log_name = "nginx-error.log"
    label = "nginx"

    def __init__(self, workdir: Path, locations: str, port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.locations = locations

    def start(self, timeout: float = 10) -> NginxServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        temp = "\n".join(
            f"    {kind}_temp_path {self.workdir}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        conf.write_text(
            f"""daemon off;
worker_processes 1;
user root;
pid {self.workdir}/nginx.pid;
error_log {self.log_path};
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
{temp}
    server {{
        listen 127.0.0.1:{self.port};
{self.locations}
    }}
}}
"""
        )
        self.launch(
            [require("nginx"), "-c", str(conf), "-e", str(self.log_path)],
            lambda: port_open(self.port),
            timeout,
            log=self.workdir / "nginx.out",
        )
        return self

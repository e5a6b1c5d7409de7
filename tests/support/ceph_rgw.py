"""Ceph's S3 gateway (radosgw) on a one-node Ceph cluster under a work dir: the benchmark's
real S3 server, where moto's (tests/support/s3_server.py) is a Python stand-in.

Debian 12 packages Ceph 16.2 (``radosgw``, ``ceph-mon``, ``ceph-osd``); no MinIO, Garage or
SeaweedFS. One monitor, one OSD on Ceph's in-memory object store (``memstore``: no block
device, nothing on disk) and one gateway, all on loopback ports, cephx off (the gateway's S3
users and signatures are still checked). It verifies SigV4 request and presigned-URL
signatures and expiry, and supports ``UploadPartCopy``, as AWS S3 does.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from quaysquash.core import processes
from quaysquash.core.processes import Child

from .s3_server import S3Server
from .server_process import log_tail
from .tools import free_port, require
from .waiting import port_open


class CephRgw(S3Server):
    """radosgw with its own monitor and OSD; the same interface as ``S3Server``."""

    access_key_id = "QSBENCHRGWACCESSKEY"
    secret_access_key = "qs-bench-rgw-secret-never-logged"
    log_name = "radosgw.log"
    label = "radosgw"
    memory_bytes = 8 << 30  # the OSD's store; objects live in memory

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir, port)
        self.conf = self.workdir / "ceph.conf"
        self.daemons: list[Child] = []

    def ceph(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            [require(tool), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {result.stderr[-2000:]}")
        return result.stdout

    def _daemon(
        self,
        name: str,
        command: Callable[[int], list[str]],
        ready: Callable[[], bool],
        timeout: float,
        attempts: int = 3,
    ) -> None:
        """Start ``command(attempt)`` until ``ready()``; one that exits while starting is
        started again (up to ``attempts`` times), since a daemon of Ceph 16 with cephx off can
        lose the race between its first command to the monitor and learning the cluster's
        fsid ("wrong fsid"), more often on a busy machine."""
        for attempt in range(1, attempts + 1):
            child = Child(name, command(attempt), log=self.workdir / f"{name}.out").start()
            try:
                processes.wait_until(ready, timeout=timeout, alive=[child], what=name)
            except processes.ChildExited as exc:
                if attempt < attempts:
                    continue
                failure: Exception = exc
            except TimeoutError as exc:
                child.stop()
                failure = exc
            else:
                self.daemons.append(child)
                return
            logs = "\n".join(log_tail(p, 1500) for p in sorted(self.workdir.glob("log/*.log")))
            out = log_tail(self.workdir / f"{name}.out")
            raise RuntimeError(f"{failure} (attempt {attempt})\n{out}\n{logs}") from None

    def _write_conf(self, mon_port: int) -> str:
        fsid = str(uuid.uuid4())
        w = self.workdir
        self.conf.write_text(
            f"""[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{mon_port}
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr2 = false
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# The OSD is placed in the CRUSH map before it starts; at start it would send the monitor
# commands of its own, which is where the fsid race above bites.
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = {self.memory_bytes}
run dir = {w}/run
log file = {w}/log/$name.log
admin socket = {w}/run/$name.asok
mon data = {w}/mon
osd data = {w}/osd$id
keyring = {w}/keyring
[client.rgw]
rgw thread pool size = 128
"""
        )
        return fsid

    def start(self, timeout: float = 120) -> CephRgw:
        w = self.workdir
        for sub in ("run", "log", "mon", "osd0"):
            (w / sub).mkdir(parents=True, exist_ok=True)
        mon_port = free_port()
        fsid = self._write_conf(mon_port)
        subprocess.run(
            [require("ceph-authtool"), "--create-keyring", str(w / "keyring"), "--gen-key",
             "-n", "mon.", "--cap", "mon", "allow *"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [require("monmaptool"), "--create", "--addv", "a", f"[v1:127.0.0.1:{mon_port}]",
             "--fsid", fsid, str(w / "monmap")],
            check=True, capture_output=True,
        )  # fmt: skip
        self.ceph("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(w / "monmap"))
        self._daemon(
            "ceph-mon",
            lambda _: [require("ceph-mon"), "-f", "-c", str(self.conf), "-i", "a"],
            lambda: port_open(mon_port),
            timeout,
        )
        osd = self.ceph("ceph", "osd", "create").strip()
        self.ceph("ceph-osd", "-i", osd, "--mkfs")
        self.ceph(
            "ceph", "osd", "crush", "add", f"osd.{osd}", "1.0", "host=localhost", "root=default"
        )  # fmt: skip
        self._daemon(
            "ceph-osd",
            lambda _: [require("ceph-osd"), "-f", "-c", str(self.conf), "-i", osd],
            lambda: " 1 up" in self.ceph("ceph", "osd", "stat"),
            timeout,
        )
        self._daemon(
            "radosgw",
            self._gateway_command,
            lambda: processes.http_ok(self.url + "/"),  # an anonymous bucket list
            timeout,
        )
        self.ceph(
            "radosgw-admin", "user", "create", "--uid", "quaysquash",
            "--display-name", "quaysquash", "--access-key", self.access_key_id,
            "--secret", self.secret_access_key,
        )  # fmt: skip
        return self

    def _gateway_command(self, attempt: int) -> list[str]:
        # The port was free when it was picked, seconds ago; if the gateway could not bind it
        # (an outgoing connection may have taken it since), the next attempt takes another.
        if attempt > 1:
            self.port = free_port()
        return [
            require("radosgw"), "-f", "-c", str(self.conf), "-n", "client.rgw",
            "--rgw_frontends", f"beast endpoint=127.0.0.1:{self.port}",
        ]  # fmt: skip

    def stop(self) -> None:
        for child in reversed(self.daemons):
            child.stop()
        self.daemons.clear()

"""The base of every server the suite runs in a subprocess: its work dir, its log, waiting
until it is ready (failing with the log's tail if it dies or never answers), and stopping it."""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from quaysquash.core import processes
from quaysquash.core.processes import Child

from .tools import free_port


def log_tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "(no log)"
    return data[-limit:].decode(errors="replace")


class ServerProcess:
    """One server process with its files in ``workdir`` and its output in ``log_path``."""

    log_name = "server.log"
    label = "the server"
    stop_signal: int = signal.SIGTERM
    stop_timeout = 10.0

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.log_path = self.workdir / self.log_name
        self.child: Child | None = None

    def where(self) -> str:
        """How failure messages name this server."""
        return self.label

    def launch(
        self,
        command: Sequence[str],
        ready: Callable[[], bool],
        timeout: float,
        *,
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        """Start ``command`` and wait for ``ready()``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.child = Child(
            self.label,
            command,
            env=dict(env) if env is not None else None,
            log=log or self.log_path,
            stop_signal=self.stop_signal,
            stop_timeout=self.stop_timeout,
        ).start()
        self.wait_ready(ready, timeout)

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        """Wait for ``ready()``; a child that dies or never answers fails with its log's tail."""
        assert self.child is not None
        try:
            processes.wait_until(ready, timeout=timeout, alive=[self.child], what=self.where())
        except (processes.ChildExited, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(self.log_path)}") from None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()


class LoopbackServer(ServerProcess):
    """A server process listening on a free loopback port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir)
        self.port = port or free_port()

    def where(self) -> str:
        return f"{self.label} on {self.port}"


class HttpAddress:
    """``host``/``url`` of something serving plain HTTP on a loopback ``port``."""

    port: int | None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

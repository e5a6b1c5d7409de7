"""The command lines of quaysquash's processes and a small supervisor that runs them together.

``manage.py serve`` and the test suite's ``stack`` fixture both build their command lines here,
so the tests exercise exactly what a user runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_REDIS_PORT = 6379
HEALTH_PATH = "/admin/login/"

# Debian installs redis-server in /usr/bin, but some images only have /usr/sbin on root's PATH.
EXTRA_TOOL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def find_tool(name: str) -> str | None:
    import shutil

    return shutil.which(name) or shutil.which(name, path=EXTRA_TOOL_PATH)


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int

    @property
    def is_loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


def parse_redis_url(url: str) -> RedisAddress:
    parts = urlsplit(url)
    return RedisAddress(parts.hostname or "127.0.0.1", parts.port or DEFAULT_REDIS_PORT)


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_command(port: int, data_dir: Path, *, persist: bool = True) -> list[str]:
    """``redis-server`` bound to loopback only, keeping its files in ``data_dir``."""
    binary = find_tool("redis-server")
    if binary is None:
        raise FileNotFoundError(
            "redis-server is not installed (Debian package redis-server); "
            "install it or point REDIS_URL at a running Redis"
        )
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
        # The supervisor owns the lifetime; a pid file would only go stale.
        "--pidfile",
        "",
        "--logfile",
        "",
        "--protected-mode",
        "yes",
        "--appendonly",
        "no",
    ]
    if persist:
        # Queued builds survive a restart; the snapshot is cheap for a broker-sized dataset.
        command += ["--save", "60 1", "--dbfilename", "dump.rdb"]
    else:
        command += ["--save", ""]
    return command


def worker_command(
    *,
    concurrency: int | None = None,
    beat: bool = True,
    schedule_file: Path | None = None,
    loglevel: str = "INFO",
    node_name: str = "worker@%h",
) -> list[str]:
    """A Celery worker for ``quaysquash``, optionally embedding beat (``-B``).

    Embedding beat is right for the single worker that ``serve`` runs: a deployment with several
    workers runs ``celery -A quaysquash beat`` once instead.
    """
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "quaysquash",
        "worker",
        "--loglevel",
        loglevel,
        "--hostname",
        node_name,
        # Mingle and gossip only synchronise a cluster of workers; alone they cost a second
        # of start-up and a stream of broker chatter.
        "--without-mingle",
        "--without-gossip",
    ]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    if beat:
        command += ["--beat"]
        if schedule_file is not None:
            command += ["--schedule", str(schedule_file)]
    return command


def web_command(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = False,
    log_level: str = "info",
    reload_dirs: Sequence[Path] = (),
) -> list[str]:
    """uvicorn serving the ASGI application with the fastest event loop and HTTP parser;
    with ``reload_dirs`` it restarts whenever a Python file below them changes (``runserver``)."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "quaysquash.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        # Django's ASGI handler does not speak the lifespan protocol; "auto" would log a warning.
        "--lifespan",
        "off",
        # Docker clients reuse connections between blob requests.
        "--timeout-keep-alive",
        "30",
        "--log-level",
        log_level,
        "--proxy-headers",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]
    if reload_dirs:
        command += ["--reload"]
        for directory in reload_dirs:
            command += ["--reload-dir", str(directory)]
    elif workers > 1:
        command += ["--workers", str(workers)]
    if not access_log:
        # Access lines carry full query strings; secrets must not end up in logs by default.
        command += ["--no-access-log"]
    return command


def _load_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved once in the parent: dlopen() between fork and exec could deadlock in a process that
# has threads (the log pumps), while calling an already resolved function is safe.
_PRCTL = _load_prctl()
PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    # Runs in the child between fork and exec: if the supervisor is SIGKILLed, the kernel
    # terminates the child instead of leaving an orphan that still holds its port.
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


@dataclass
class Child:
    """One supervised process; ``log`` is a file to write to, or None to forward with a prefix."""

    name: str
    command: Sequence[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    log: Path | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 15.0
    process: subprocess.Popen | None = field(default=None, repr=False)
    _pump: threading.Thread | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, output: IO[str] | None = None) -> Child:
        stdout: int | IO[bytes]
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            stdout = open(self.log, "ab")  # handed to the child, closed below
        else:
            stdout = subprocess.PIPE
        try:
            self.process = subprocess.Popen(
                list(self.command),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                # Own process group: Ctrl-C reaches only the supervisor, which then stops the
                # children in order, and a group kill also reaches worker pool processes.
                process_group=0,
                preexec_fn=_set_parent_death_signal,
            )
        finally:
            if self.log is not None:
                stdout.close()  # type: ignore[union-attr]
        if self.log is None:
            self._pump = threading.Thread(
                target=_pump_lines,
                args=(self.process.stdout, self.name, output or sys.stdout),
                daemon=True,
            )
            self._pump.start()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int, *, group: bool = False) -> None:
        if not self.alive():
            return
        assert self.process is not None
        try:
            if group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float | None = None) -> int | None:
        """Ask politely, then kill the whole process group; returns the exit code."""
        if self.process is None:
            return None
        if self.alive():
            self.signal(self.stop_signal)
            try:
                self.process.wait(timeout=self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL, group=True)
                self.process.wait()
        # Pool processes of a worker that was killed may linger in its group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self._pump is not None:
            self._pump.join(timeout=2)
        return self.process.returncode


def _pump_lines(stream: IO[bytes], name: str, output: IO[str]) -> None:
    prefix = f"{name:>6} | "
    for raw in iter(stream.readline, b""):
        try:
            output.write(prefix + raw.decode(errors="replace").rstrip("\n") + "\n")
            output.flush()
        except (ValueError, OSError):
            # Output closed while shutting down; keep draining so the child never blocks.
            pass
    stream.close()


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    alive: Sequence[Child] = (),
    what: str = "condition",
    stop: threading.Event | None = None,
) -> None:
    """Poll ``check`` until true; fail early if one of the ``alive`` children has exited.

    Returns quietly when ``stop`` is set, so a Ctrl-C during start-up is not an error.
    """
    deadline = time.monotonic() + timeout
    while stop is None or not stop.is_set():
        for child in alive:
            if not child.alive():
                code = child.process.returncode if child.process else None
                raise ChildExited(f"{child.name} exited with code {code} while waiting for {what}")
        try:
            if check():
                return
        except Exception:  # any failure of the probe means "not yet"
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        if stop is None:
            time.sleep(interval)
        else:
            stop.wait(interval)


class ChildExited(RuntimeError):
    pass


@dataclass
class RestartLimit:
    """Allows at most ``count`` restarts of each child within any ``window`` seconds.

    A child that crashes now and then (a broker blip, an out-of-memory kill) is restarted; one
    that crashes in a loop is a configuration or code problem that restarts cannot fix.
    """

    count: int = 5
    window: float = 60.0
    _times: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def allow(self, name: str, now: float | None = None) -> bool:
        """Record a restart of ``name`` and return True, or False if the limit is reached."""
        now = time.monotonic() if now is None else now
        times = self._times.setdefault(name, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.count:
            return False
        times.append(now)
        return True

    def recent(self, name: str) -> int:
        return len(self._times.get(name, ()))


def http_ok(url: str, timeout: float = 2.0) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return 200 <= response.status < 400

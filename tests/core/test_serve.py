"""``manage.py serve``: starts Redis, a worker and the web server; stops all of them together."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from quaysquash.core.processes import is_listening
from tests.support.procfs import descendants, pid_alive
from tests.support.redis_server import RedisServer
from tests.support.tools import REPO_ROOT, free_port, require
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def migrated_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir with a migrated SQLite database, copied by each test (migrating takes seconds)."""
    var = tmp_path_factory.mktemp("serve-template") / "var"
    env = base_env(var)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return var


def base_env(var: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QS_", "CELERY_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="quaysquash.settings",
        QS_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'serve.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    return env


class Serve:
    def __init__(self, var: Path, redis_url: str, *extra: str) -> None:
        require("redis-server")
        self.port = free_port()
        self.log_path = var.parent / "serve.log"
        self.env = base_env(var)
        self.env["REDIS_URL"] = redis_url
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port), *extra],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while "is running at" not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve did not become ready:\n{self.log[-5000:]}")
            time.sleep(0.1)

    def children(self) -> dict[int, str]:
        result = {}
        for pid in descendants(self.process.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except FileNotFoundError:
                continue
            result[pid] = cmdline.decode(errors="replace")
        return result

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not exit within {timeout}s:\n{self.log[-5000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def var(migrated_var: Path, tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "var"
    shutil.copytree(migrated_var, target)
    yield target


@pytest.fixture
def serves() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.kill()


def assert_all_gone(pids: dict[int, str], log: str) -> None:
    # Give init a moment to reap processes re-parented to it.
    wait_for(lambda: not any(pid_alive(pid) for pid in pids), timeout=10, what="children to exit")
    left = {pid: cmd for pid, cmd in pids.items() if pid_alive(pid)}
    assert not left, f"processes left behind: {left}\n{log[-3000:]}"


def test_it_runs_everything_and_stops_on_sigint(var: Path, serves: list[Serve]) -> None:
    redis_port = free_port()
    serve = Serve(var, f"redis://127.0.0.1:{redis_port}/0")
    serves.append(serve)
    serve.wait_ready()

    response = requests.get(f"http://127.0.0.1:{serve.port}/admin/login/", timeout=10)
    assert response.status_code == 200
    children = serve.children()
    commands = " ".join(children.values())
    assert "redis-server" in commands
    assert "celery" in commands and "worker" in commands
    assert "uvicorn" in commands
    assert is_listening("127.0.0.1", redis_port)
    assert f"http://127.0.0.1:{serve.port}/" in serve.log

    serve.process.send_signal(signal.SIGINT)
    assert serve.wait_exit() == 0, serve.log[-3000:]
    assert_all_gone(children, serve.log)
    assert not is_listening("127.0.0.1", serve.port)
    assert not is_listening("127.0.0.1", redis_port)


def worker_main_pid(serve: Serve) -> int | None:
    """The Celery worker's main process (it leads its own process group), if running."""
    for pid, cmd in serve.children().items():
        try:
            if "celery" in cmd and os.getpgid(pid) == pid and pid_alive(pid):
                return pid
        except ProcessLookupError:
            continue
    return None


def kill_worker(serve: Serve) -> int:
    """SIGKILL the worker's main process; wait until serve has started another; its pid."""
    old = worker_main_pid(serve)
    assert old is not None, serve.log[-3000:]
    os.kill(old, signal.SIGKILL)
    wait_for(
        lambda: worker_main_pid(serve) not in (None, old) or serve.process.poll() is not None,
        timeout=30,
        what="a new worker",
    )
    return old


def test_it_restarts_a_process_that_dies(var: Path, serves: list[Serve], tmp_path: Path) -> None:
    from tests.squash.images import make_layout

    serve = Serve(var, f"redis://127.0.0.1:{free_port()}/0")
    serves.append(serve)
    serve.wait_ready()
    manage = [sys.executable, "manage.py"]
    layout = make_layout(tmp_path / "tiny", [{"hello.txt": b"hello after a restart\n"}])
    for args in (
        [
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.create_user('alice', password='pw-for-alice')",
        ],
        ["create_org", "acme", "--admin", "alice"],
        ["import_image", f"{layout}:latest", "acme/tiny:v1"],
    ):
        subprocess.run(
            manage + args,
            cwd=REPO_ROOT,
            env=serve.env,
            check=True,
            timeout=120,
            capture_output=True,
        )

    old = kill_worker(serve)
    assert serve.process.poll() is None, serve.log[-3000:]
    assert "worker exited unexpectedly" in serve.log and "restarting it" in serve.log
    assert not pid_alive(old)
    # The new worker builds: a cold pull of a squash goes through.
    response = requests.get(
        f"http://127.0.0.1:{serve.port}/c1/squash/acme/tiny/v1",
        auth=("alice", "pw-for-alice"),
        timeout=120,
    )
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) == int(response.headers["Content-Length"]) > 0

    serve.process.send_signal(signal.SIGTERM)
    assert serve.wait_exit() == 0, serve.log[-3000:]


def test_it_gives_up_on_a_process_that_keeps_dying(var: Path, serves: list[Serve]) -> None:
    serve = Serve(var, f"redis://127.0.0.1:{free_port()}/0", "--max-restarts", "1")
    serves.append(serve)
    serve.wait_ready()
    kill_worker(serve)  # restarted: the first within the window
    children = serve.children()
    worker = worker_main_pid(serve)
    assert worker is not None
    os.kill(worker, signal.SIGKILL)  # the second: too many

    assert serve.wait_exit() != 0
    assert "worker exited unexpectedly (code -9) 2 times within 60s; giving up" in serve.log
    assert_all_gone(children, serve.log)


def test_it_uses_a_redis_that_is_already_running(
    var: Path, serves: list[Serve], tmp_path: Path
) -> None:
    external = RedisServer(tmp_path / "redis").start()
    try:
        serve = Serve(var, external.url)
        serves.append(serve)
        serve.wait_ready()
        assert "redis-server" not in " ".join(serve.children().values())
        serve.process.send_signal(signal.SIGTERM)
        assert serve.wait_exit() == 0
        # Someone else's Redis is left running.
        assert redis.Redis.from_url(external.url).ping()
    finally:
        external.stop()


def test_it_refuses_a_port_in_use(var: Path, serves: list[Serve]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env={**base_env(var), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"port {port}" in result.stderr

"""Command lines shared by ``serve`` and the test stack."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from quaysquash.core import processes
from quaysquash.core.processes import Child


def test_it_parses_redis_urls() -> None:
    assert processes.parse_redis_url("redis://127.0.0.1:6390/0") == processes.RedisAddress(
        "127.0.0.1", 6390
    )
    assert processes.parse_redis_url("redis://:secret@localhost/1").port == 6379
    assert processes.parse_redis_url("redis://localhost:7000/0").is_loopback
    assert not processes.parse_redis_url("redis://redis.internal:6379/0").is_loopback


def test_it_runs_uvicorn_quietly_on_the_fast_loop() -> None:
    command = processes.web_command(host="127.0.0.1", port=8123, workers=3)
    assert command[:4] == [sys.executable, "-m", "uvicorn", "quaysquash.asgi:application"]
    joined = " ".join(command)
    for flag in ("--port 8123", "--http httptools", "--loop uvloop", "--workers 3"):
        assert flag in joined
    assert "--no-access-log" in command
    assert "--no-access-log" not in processes.web_command(access_log=True)


def test_it_embeds_beat_in_the_worker_only_when_asked(tmp_path: Path) -> None:
    with_beat = processes.worker_command(beat=True, schedule_file=tmp_path / "beat")
    assert "--beat" in with_beat and str(tmp_path / "beat") in with_beat
    assert "--beat" not in processes.worker_command(beat=False)
    assert with_beat[:5] == [sys.executable, "-m", "celery", "-A", "quaysquash"]


def test_it_keeps_redis_on_loopback_and_optionally_ephemeral(tmp_path: Path) -> None:
    command = processes.redis_command(6399, tmp_path, persist=False)
    assert command[command.index("--bind") + 1] == "127.0.0.1"
    assert command[command.index("--save") + 1] == ""


def test_it_stops_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = Child(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)",
        ],
        log=tmp_path / "log",
        stop_timeout=0.5,
    ).start()
    processes.wait_until(lambda: "up" in (tmp_path / "log").read_text(), timeout=10)
    assert stubborn.stop() == -signal.SIGKILL
    assert not stubborn.alive()


def test_it_allows_a_few_restarts_per_window_and_then_refuses() -> None:
    from quaysquash.core.processes import RestartLimit

    limit = RestartLimit(count=2, window=60)
    assert limit.allow("worker", now=0) and limit.allow("worker", now=10)
    assert not limit.allow("worker", now=20)  # a third within 60 s
    assert limit.allow("web", now=20)  # counted per process
    assert limit.allow("worker", now=61)  # the first one has left the window
    assert limit.recent("worker") == 2

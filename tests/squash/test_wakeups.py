"""Waking followers of a build through Redis pub/sub (quaysquash.squash.wakeups), against a
real private Redis; the worker's side announces from another thread, as the committer does."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from quaysquash.squash import progress, wakeups
from tests.support.tools import free_port


@pytest.fixture
def redis_url(settings, redis_server, monkeypatch):
    settings.REDIS_URL = redis_server
    monkeypatch.setattr(progress, "_down_until", 0.0)
    return redis_server


async def _until_live(watch: wakeups.Watch, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not watch.live:
        assert time.monotonic() < deadline, "the subscription never came up"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the pattern subscription is confirmed by the server by now


def test_it_wakes_a_watcher_of_the_announced_row_only(redis_url):
    async def scenario() -> tuple[float, bool]:
        with wakeups.watch(41) as watched, wakeups.watch(42) as other:
            await _until_live(watched)
            started = time.monotonic()
            threading.Timer(0.05, wakeups.announce, args=(41,)).start()
            await watched.wait(5.0)
            woken_after = time.monotonic() - started
            return woken_after, other.event.is_set()

    woken_after, other_woken = asyncio.run(scenario())
    assert 0.04 < woken_after < 1.0  # woken by the message, long before the 5 s timeout
    assert not other_woken


def test_it_keeps_an_announcement_made_before_the_wait(redis_url):
    async def scenario() -> float:
        with wakeups.watch(7) as watch:
            await _until_live(watch)
            await asyncio.to_thread(wakeups.announce, 7)
            await asyncio.sleep(0.1)  # the follower was busy sending when it came
            started = time.monotonic()
            await watch.wait(5.0)
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.05


def test_it_falls_back_to_the_timeout_without_redis(settings, monkeypatch):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    monkeypatch.setattr(progress, "_down_until", 0.0)

    async def scenario() -> tuple[float, bool]:
        with wakeups.watch(9) as watch:
            await asyncio.sleep(0.3)  # the listener's connect fails meanwhile
            started = time.monotonic()
            await watch.wait(0.2)
            await watch.wait(0.2)
            return time.monotonic() - started, watch.live

    waited, live = asyncio.run(scenario())
    assert not live
    assert waited >= 0.15  # at most one early return (the listener's farewell wake-up)
    wakeups.announce(9)  # the worker's side does not raise either

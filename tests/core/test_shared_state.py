"""Facts shared by every web server through Redis (quaysquash.core.shared_state)."""

from __future__ import annotations

import time
import uuid

from quaysquash.core import shared_state


def test_it_answers_first_then_repeat_then_first_again(settings, redis_server):
    settings.REDIS_URL = redis_server
    key = uuid.uuid4().hex
    assert shared_state.first_time(key, 30) is True
    assert shared_state.first_time(key, 30) is False
    assert shared_state.first_time(key, 30) is True


def test_it_forgets_after_the_expiry(settings, redis_server):
    settings.REDIS_URL = redis_server
    key = uuid.uuid4().hex
    assert shared_state.first_time(key, 0.2) is True
    time.sleep(0.3)
    assert shared_state.first_time(key, 0.2) is True


def test_it_answers_first_when_redis_is_unreachable(settings):
    from tests.support.tools import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    assert shared_state.first_time(uuid.uuid4().hex, 30) is True
    assert shared_state.first_time("again", 30) is True
    assert time.monotonic() - started < 2

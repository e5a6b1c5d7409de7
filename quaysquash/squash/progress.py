"""How far a build has committed, shared by every host through Redis.

The worker publishes the end offsets of its committed segments after each commit (one short
string per build, replaced whole, so a Redis restart heals at the next commit); followers on any
web server read it when they have caught up. The row keeps the same list as of the last
heartbeat, so followers still progress (at heartbeat pace) if Redis cannot be reached.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache

from django.conf import settings

log = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
RETRY_AFTER = 5.0  # after a Redis error, this process leaves it alone for a while
_down_until = 0.0


@lru_cache(maxsize=4)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)


def _key(image_id: int, attempt: int) -> str:
    return f"quaysquash:squash:segments:{image_id}:{attempt}"


def encode(ends: list[int]) -> str:
    return ",".join(map(str, ends))


def decode(text: str | bytes | None) -> list[int]:
    if not text:
        return []
    if isinstance(text, bytes):
        text = text.decode()
    return [int(part) for part in text.split(",") if part]


def call(method: str, *args):
    """One Redis command, or None while Redis is unreachable (then left alone a while)."""
    global _down_until
    if time.monotonic() < _down_until:
        return None
    try:
        return getattr(_client(settings.REDIS_URL), method)(*args)
    except Exception as exc:
        _down_until = time.monotonic() + RETRY_AFTER
        log.warning("build progress via Redis unavailable (%s); using the database", exc)
        return None


def publish(image_id: int, attempt: int, ends: list[int]) -> None:
    call("set", _key(image_id, attempt), encode(ends), TTL_SECONDS)


def read(image_id: int, attempt: int) -> list[int]:
    return decode(call("get", _key(image_id, attempt)))


def forget(image_id: int, attempt: int) -> None:
    call("delete", _key(image_id, attempt))

"""Short-lived facts every web server must agree on, kept in the shared Redis.

A process's memory is one host's: with several web servers behind a load balancer, a client's
next request may land anywhere. Facts that must hold across requests (not only within one)
live here, with an expiry, and never hold a secret in clear.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _client(url: str) -> redis.Redis:
    # Fail fast: these facts refine an answer, they must never hold a request for long.
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def first_time(key: str, seconds: float) -> bool:
    """True the first time ``key`` is seen within ``seconds`` by any host, then False once
    (the key is consumed), then True again. True as well when Redis cannot be reached."""
    name = f"qs:once:{key}"
    try:
        if client().set(name, b"1", px=int(seconds * 1000), nx=True):
            return True
        client().delete(name)
        return False
    except redis.RedisError:
        log.warning("shared state unavailable (Redis); answering as for a first request")
        return True

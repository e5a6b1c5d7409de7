"""A private ``redis-server`` for the suite: a free loopback port, no persistence."""

from __future__ import annotations

from quaysquash.core import processes

from .server_process import LoopbackServer
from .tools import require


class RedisServer(LoopbackServer):
    """``redis-server`` on a free loopback port, without persistence."""

    log_name = "redis.log"
    label = "Redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisServer:
        require("redis-server")
        self.launch(
            processes.redis_command(self.port, self.workdir, persist=False), self.ping, timeout
        )
        return self

    def ping(self) -> bool:
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()

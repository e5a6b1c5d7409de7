"""A tiny round-robin HTTP load balancer on loopback that spreads upload sessions on purpose.

Real load balancers spread requests, not connections, over the web servers, so one client's
upload session can meet every server. This one makes sure it does: a request to an upload
session (the ``Location`` a ``POST .../blobs/uploads/`` answered, or a later one) goes to the
backend after the one that served the session's previous request; other requests take turns. Clients keep connections open, so the balancer answers
each request with ``Connection: close``: every request then arrives on a new connection and
is sent to the next backend. Bodies in both directions are piped as raw bytes (chunked or
not), so a streamed ``PATCH`` reaches its backend as it was sent. ``served`` records
``(method, path, backend)`` of every request, for tests that check the spreading.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from .tools import free_port

HEAD_LIMIT = 64 * 1024
UPLOADS = "/blobs/uploads/"


def _session_key(path: str) -> str:
    return urlsplit(path).path


def _with_connection_close(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    kept = [line for line in lines[1:] if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join([lines[0], *kept, b"Connection: close", b"", b""])


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 18):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass


class RoundRobinBalancer:
    """Listens on 127.0.0.1:``port`` and alternates requests over ``backends`` (host:port)."""

    def __init__(self, backends: Sequence[str], port: int | None = None) -> None:
        self.backends = list(backends)
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.served: list[tuple[str, str, str]] = []
        self._turn = itertools.count()
        # Upload session path -> index of the backend that served its last request.
        self._sessions: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RoundRobinBalancer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, "127.0.0.1", self.port, limit=HEAD_LIMIT)
                )
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="balancer", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        def shutdown() -> None:
            server.close()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop = self._server = None

    def _pick(self, path: str) -> int:
        last = self._sessions.get(_session_key(path))
        if last is not None:
            return (last + 1) % len(self.backends)
        return next(self._turn) % len(self.backends)

    def _remember(self, path: str, response_head: bytes, index: int) -> None:
        keys = [_session_key(path)]
        for line in response_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"location":
                keys.append(_session_key(urlsplit(value.strip().decode("latin-1")).path))
        for key in keys:
            if UPLOADS in key and not key.endswith(UPLOADS):
                self._sessions[key] = index

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        upstream_w = None
        try:
            try:
                head = await client_r.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            method, path = (head.split(b"\r\n", 1)[0].decode("latin-1").split(" ") + [""])[:2]
            index = self._pick(path)
            backend = self.backends[index]
            self.served.append((method, path, backend))
            host, port = backend.rsplit(":", 1)
            upstream_r, upstream_w = await asyncio.open_connection(host, int(port))
            upstream_w.write(_with_connection_close(head))
            upload = asyncio.ensure_future(_pipe(client_r, upstream_w))
            try:
                response_head = await upstream_r.readuntil(b"\r\n\r\n")
                self._remember(path, response_head, index)
                client_w.write(_with_connection_close(response_head))
                await _pipe(upstream_r, client_w)
            finally:
                upload.cancel()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            for writer in (upstream_w, client_w):
                if writer is not None:
                    writer.close()

"""Serving a stored object over HTTP, for ``/v2/`` blob GETs and ``/c1/squash/`` cached pulls.

One place decides, in this order: ``If-None-Match`` (304), a redirect to the driver's presigned
URL (S3, when enabled and no ``If-Range`` asks for our validators), ``X-Accel-Redirect`` (the
object is a local file and the caller has an nginx prefix), then ``Range``/``If-Range`` and the
body: a local file from a guarded memory map (:mod:`.filemap`, no copy in Python, no disk wait
on the event loop), anything else read from the storage on a thread. There is one byte-range
parser, with RFC 9110's rules: a malformed or multi-range header is ignored (the whole body is
always a valid answer), an unsatisfiable one is refused (:class:`RangeNotSatisfiable`, 416).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

from quaysquash.storage import Storage

from . import filemap

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A streaming reader renews its lease (``keepalive``) this often, so eviction spares it.
KEEPALIVE_SECONDS = 60.0

Finish = Callable[[int, int, bool], None]  # (status, bytes sent, complete)


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"range not satisfiable for {size} bytes")
        self.size = size
        self.headers = {"Content-Range": f"bytes */{size}"}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` with ``end`` exclusive for a single byte range; None: send it all."""
    match = RANGE_RE.match((header or "").strip())
    if not match or (not match[1] and not match[2]):
        return None  # absent, malformed or multi-range
    first, last = match[1], match[2]
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # invalid range-spec: ignored like any malformed header
        end = min(int(last) + 1, size) if last else size
    else:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable(size)
        start, end = max(size - suffix, 0), size
    if start >= size:
        raise RangeNotSatisfiable(size)
    return start, end


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """If-None-Match (weak comparison, lists, ``*``) names this representation."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or etag.removeprefix("W/") in tags


def if_range_ok(if_range: str | None, etag: str, last_modified: int | None) -> bool:
    """If-Range: honour Range only when the client's copy is still this one (strong ETag, or
    a date no older than ours)."""
    if not if_range:
        return True
    if if_range.strip() == etag:
        return True
    date = parse_http_date_safe(if_range)
    return date is not None and last_modified is not None and date >= last_modified


@dataclass
class Stored:
    """What to send: one object in the storage and the representation's metadata."""

    key: str
    size: int
    etag: str  # quoted
    content_type: str = "application/octet-stream"
    last_modified: int | None = None
    filename: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class BufferStreamingResponse(StreamingHttpResponse):
    """A streaming response that hands memoryviews to the server as they are: Django's
    ``make_bytes`` would copy each one into a new bytes object."""

    def make_bytes(self, value):
        if isinstance(value, memoryview):
            return value
        return super().make_bytes(value)


def _headers(response: HttpResponse, obj: Stored) -> HttpResponse:
    response["Content-Type"] = obj.content_type
    if obj.filename:
        response["Content-Disposition"] = f'attachment; filename="{obj.filename}"'
    for name, value in obj.headers.items():
        response[name] = value
    response["ETag"] = obj.etag
    response["Accept-Ranges"] = "bytes"
    if obj.last_modified:
        response["Last-Modified"] = http_date(obj.last_modified)
    return response


def respond(
    request,
    storage: Storage,
    obj: Stored,
    *,
    body: bool = True,
    redirect: bool = True,
    x_accel: str | None = None,
    on_finish: Finish | None = None,
    keepalive: Callable[[], None] | None = None,
) -> HttpResponse:
    """The response for a GET (``body``) or HEAD of ``obj``.

    Raises RangeNotSatisfiable (the caller renders its own error shape) and FileNotFoundError
    when the object is gone (the caller decides: 404, or rebuild).
    """
    finish = on_finish or (lambda status, sent, complete: None)
    if none_match(request.META.get("HTTP_IF_NONE_MATCH"), obj.etag):
        response = HttpResponse(status=304)
        response["ETag"] = obj.etag
        finish(304, 0, True)
        return response
    if body and redirect and not request.META.get("HTTP_IF_RANGE"):
        url = storage.presigned_url(obj.key, filename=obj.filename, content_type=obj.content_type)
        if url is not None:
            # The client fetches the bytes from the bucket; Range goes along, S3 honours it.
            response = HttpResponse(status=307)
            response["Location"] = url
            response["ETag"] = obj.etag
            for name, value in obj.headers.items():
                response[name] = value
            response["Cache-Control"] = "private, no-store"  # the URL expires
            response["Content-Length"] = "0"
            finish(307, 0, True)
            return response
    local = storage.local_path(obj.key) if body and x_accel else None
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(obj.key)
        # nginx sends the file (sendfile, ranges); we only authorised and named it.
        response = _headers(HttpResponse(), obj)
        response["X-Accel-Redirect"] = x_accel
        finish(200, obj.size, True)
        return response
    byte_range = None
    if if_range_ok(request.META.get("HTTP_IF_RANGE"), obj.etag, obj.last_modified):
        byte_range = parse_range(request.META.get("HTTP_RANGE"), obj.size)
    start, end = byte_range or (0, obj.size)
    status = 206 if byte_range else 200
    if not body:
        response = _headers(HttpResponse(status=status), obj)
    else:
        source = Source(storage, obj.key, start)  # FileNotFoundError: the caller decides
        content = (
            source.async_chunks(start, end, status, finish, keepalive)
            if isinstance(request, ASGIRequest)
            else source.sync_chunks(start, end, status, finish)
        )
        response = _headers(BufferStreamingResponse(content, status=status), obj)
    response["Content-Length"] = str(end - start)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end - 1}/{obj.size}"
    return response


class Source:
    """An opened object: a local file (memory-mapped when possible) or a storage reader."""

    def __init__(self, storage: Storage, key: str, start: int) -> None:
        path = storage.local_path(key)
        self.local = path is not None
        self.fh = open(path, "rb", buffering=0) if path is not None else storage.open(key, start)

    def close(self) -> None:
        self.fh.close()

    def sync_chunks(self, start: int, end: int, status: int, finish: Finish) -> Iterator[bytes]:
        pos = start
        try:
            if self.local:
                self.fh.seek(start)
            while pos < end:
                data = self.fh.read(min(settings.QS_SQUASH_CHUNK_BYTES, end - pos))
                if not data:
                    break
                pos += len(data)
                yield data
        finally:
            self.close()
            finish(status, pos - start, pos == end)

    async def async_chunks(
        self,
        start: int,
        end: int,
        status: int,
        finish: Finish,
        keepalive: Callable[[], None] | None = None,
    ) -> AsyncIterator[bytes | memoryview]:
        pos = start
        renewed = time.monotonic()
        try:
            async for data in self._chunks(start, end):
                pos += len(data)
                yield data
                if keepalive is not None and time.monotonic() - renewed > KEEPALIVE_SECONDS:
                    renewed = time.monotonic()
                    await asyncio.to_thread(keepalive)
        finally:
            self.close()
            finish(status, pos - start, pos == end)

    async def _chunks(self, start: int, end: int) -> AsyncIterator[bytes | memoryview]:
        chunk = settings.QS_SQUASH_CHUNK_BYTES
        if self.local and filemap.available():
            fd = self.fh.fileno()
            size = min(os.fstat(fd).st_size, end)
            async for view in filemap.MappedFile(fd, size).chunks(start, size, chunk):
                yield view
            return
        pos = start
        while pos < end:
            if self.local:
                data = await asyncio.to_thread(
                    os.pread, self.fh.fileno(), min(chunk, end - pos), pos
                )
            else:
                data = await asyncio.to_thread(self.fh.read, min(chunk, end - pos))
            if not data:
                return
            pos += len(data)
            yield data


async def stream_range(storage: Storage, key: str, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of an object (a build's segment, say); FileNotFoundError at the
    first step if it is gone."""
    source = await asyncio.to_thread(Source, storage, key, start)
    try:
        async for data in source._chunks(start, end):
            yield data
    finally:
        source.close()

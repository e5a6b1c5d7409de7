"""Sending squashes to clients: from the cache (Range, ETag, X-Accel-Redirect) or by following
the file a worker is still writing.

Everything here runs on the event loop: a download costs a coroutine, not a thread, so a few
hundred of them fit in one uvicorn process. Complete files are sent from a memory map
(:mod:`.filemap`: no copy into Python, disk reads on a thread); a file still being written is
read with ``pread`` on a thread per chunk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from typing import BinaryIO

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

from . import cache, filemap
from .models import PullLog, SquashedImage
from .resolve import SquashHTTPError, Target

log = logging.getLogger(__name__)

# Before headers, a follower polls the row quickly (time to first byte matters); once
# streaming, the file size tells it about progress and the row is only checked for liveness.
FIRST_POLL, MAX_POLL = 0.01, 0.05
LIVENESS_EVERY = 0.5
FILE_POLL = 0.02

# Pull-log writes run detached from the response; keep references so they are not collected.
_background: set[asyncio.Task] = set()


class BuildInterrupted(Exception):
    """Raised inside a streaming body: the server closes the connection short of its declared
    length, so curl -f, docker load and podman load fail instead of loading a truncated file."""


def _write_log(fields: dict) -> None:
    try:
        PullLog.objects.create(**fields)
    except Exception:
        log.exception("could not write the pull log")


def record_pull(target: Target, request, started: float, **fields) -> None:
    fields = {
        **target.log_fields(),
        "duration": time.monotonic() - started,
        "remote_addr": request.META.get("REMOTE_ADDR", "")[:64],
        **fields,
    }
    task = asyncio.get_running_loop().create_task(
        sync_to_async(_write_log, thread_sensitive=False)(fields)
    )
    _background.add(task)
    task.add_done_callback(_background.discard)


def _get(pk: int) -> SquashedImage | None:
    return SquashedImage.objects.filter(pk=pk).first()


get_row = sync_to_async(_get, thread_sensitive=False)

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) for a single byte range; None means send everything.

    Raises SquashHTTPError(416) for a range that cannot be satisfied.
    """
    match = RANGE_RE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        return None  # malformed or multi-range: a full response is always allowed
    first, last = match[1], match[2]
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
        if last and int(last) < start:
            return None
    else:
        start, end = max(size - int(last), 0), size
    if start >= size or start >= end:
        raise SquashHTTPError(
            416,
            "RANGE_INVALID",
            "requested range not satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _etag(image: SquashedImage) -> str:
    return f'"{image.sha256}"'


def _filename(target: Target, image: SquashedImage) -> str:
    base = target.repository.name.replace("/", "-")
    label = target.tag or target.manifest.digest.split(":")[-1][:12]
    suffix = {"docker": "", "oci": "-oci", "rootfs": "-rootfs"}[image.format]
    return f"{base}-{label}{suffix}{cache.EXTENSIONS[image.compression]}"


def _common_headers(response: HttpResponse, target: Target, image: SquashedImage) -> None:
    response["Content-Type"] = image.media_type
    response["Content-Disposition"] = f'attachment; filename="{_filename(target, image)}"'
    response["Docker-Content-Digest"] = target.manifest.digest
    response["Cache-Control"] = "private, no-transform"


class BufferStreamingResponse(StreamingHttpResponse):
    """A streaming response that hands memoryviews to the server as they are: Django's
    ``make_bytes`` would copy each one into a new bytes object."""

    def make_bytes(self, value):
        if isinstance(value, memoryview):
            return value
        return super().make_bytes(value)


async def _read(fh: BinaryIO, offset: int, length: int) -> bytes:
    return await asyncio.to_thread(os.pread, fh.fileno(), length, offset)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator (a sync iterator would make Django warn on every HEAD)


def head_response(request, target: Target, image: SquashedImage | None) -> HttpResponse:
    """What a GET would answer, without a body and without starting a build.

    A cached squash gets its full validators; otherwise ``X-Squash-Cache`` says why not and
    there is no ``Content-Length`` (the size is only known once a build has planned it).
    """
    ready = (
        image is not None
        and image.state == SquashedImage.State.READY
        and (cache.cache_dir() / image.file_name).is_file()
    )
    if not ready:
        response = StreamingHttpResponse(_nothing())  # streaming: no Content-Length is added
        response["Content-Type"] = SquashedImage(compression=target.key.compression).media_type
        response["Docker-Content-Digest"] = target.manifest.digest
        response["X-Squash-Cache"] = image.state if image is not None else "missing"
        if response["X-Squash-Cache"] == SquashedImage.State.READY:
            response["X-Squash-Cache"] = "missing"  # evicted from disk, row not yet
        return response
    etag = _etag(image)
    if request.META.get("HTTP_IF_NONE_MATCH", "").strip() in (etag, "*"):
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response
    response = HttpResponse()
    _common_headers(response, target, image)
    response["Content-Length"] = str(image.size or 0)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if image.finished:
        response["Last-Modified"] = http_date(int(image.finished.timestamp()))
    response["X-Squash-Cache"] = "hit"
    return response


async def bucket_redirect(request, target: Target, image: SquashedImage) -> str | None:
    """On S3 storage, a presigned URL of the squash's bucket copy; looked up on a thread, since
    it may ask the bucket (one HEAD) and the event loop is busy sending other downloads.

    None for requests that carry our ETag as a validator (If-None-Match, If-Range): the
    bucket's ETag is not ours, so those are answered here.
    """
    from . import remote  # only this and serve_cached's redirect are S3-aware

    if not remote.enabled():
        return None
    if "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_RANGE" in request.META:
        return None
    return await sync_to_async(remote.redirect_url, thread_sensitive=False)(
        image, _filename(target, image)
    )


def serve_cached(
    request, target: Target, image: SquashedImage, started: float, url: str | None = None
) -> HttpResponse:
    """A complete squash from the cache, with validators and byte ranges (``curl -C -``);
    ``url`` (from :func:`bucket_redirect`) sends the client to the bucket copy instead."""
    size = image.size or 0
    etag = _etag(image)
    last_modified = int(image.finished.timestamp()) if image.finished else None

    if url:
        response = HttpResponse(status=307)
        response["Location"] = url
        response["ETag"] = etag
        response["Docker-Content-Digest"] = target.manifest.digest
        response["Cache-Control"] = "private, no-store"  # the URL expires
        record_pull(target, request, started, source="cache", status=307, complete=True)
        return response

    if settings.QS_SQUASH_X_ACCEL_PREFIX:
        # nginx serves the bytes (sendfile, Range); we only authorise and name them.
        if not (cache.cache_dir() / image.file_name).is_file():
            raise FileNotFoundError(image.file_name)  # evicted meanwhile: caller rebuilds
        response = HttpResponse()
        _common_headers(response, target, image)
        response["X-Accel-Redirect"] = (
            settings.QS_SQUASH_X_ACCEL_PREFIX.rstrip("/") + "/" + image.file_name
        )
        response["ETag"] = etag
        if last_modified:
            response["Last-Modified"] = http_date(last_modified)
        record_pull(
            target, request, started, source="cache", status=200, bytes_sent=size, complete=True
        )
        return response

    if request.META.get("HTTP_IF_NONE_MATCH", "").strip() in (etag, "*"):
        response = HttpResponse(status=304)
        response["ETag"] = etag
        record_pull(target, request, started, source="cache", status=304, complete=True)
        return response

    path = cache.cache_dir() / image.file_name
    fh = cache.open_for_reading(path)  # FileNotFoundError: caller rebuilds
    byte_range = None
    range_header = request.META.get("HTTP_RANGE", "")
    if range_header and _if_range_ok(request.META.get("HTTP_IF_RANGE", ""), etag, last_modified):
        try:
            byte_range = parse_range(range_header, size)
        except SquashHTTPError:
            fh.close()
            raise
    start, end = byte_range or (0, size)
    status = 206 if byte_range else 200
    body = _stream_file(fh, start, end, target, request, started, status)
    response = BufferStreamingResponse(body, status=status)
    _common_headers(response, target, image)
    response["Content-Length"] = str(end - start)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return response


def _if_range_ok(if_range: str, etag: str, last_modified: int | None) -> bool:
    """If-Range: honour Range only when the client's copy is still this one."""
    if not if_range:
        return True
    if if_range.strip() == etag:
        return True
    date = parse_http_date_safe(if_range)
    return date is not None and last_modified is not None and date >= last_modified


async def _stream_file(
    fh: BinaryIO, start: int, end: int, target: Target, request, started: float, status: int
) -> AsyncIterator[bytes | memoryview]:
    pos = start
    try:
        async for data in _file_chunks(fh, start, end):
            pos += len(data)
            yield data
        if pos < end:
            raise BuildInterrupted(f"cached squash shorter than recorded ({pos} < {end})")
    finally:
        fh.close()
        record_pull(
            target,
            request,
            started,
            source="cache",
            status=status,
            bytes_sent=pos - start,
            complete=pos == end,
        )


async def _file_chunks(fh: BinaryIO, start: int, end: int) -> AsyncIterator[bytes | memoryview]:
    chunk = settings.QS_SQUASH_CHUNK_BYTES
    fd = fh.fileno()
    if filemap.available():
        size = min(os.fstat(fd).st_size, end)
        async for view in filemap.MappedFile(fd, size).chunks(start, size, chunk):
            yield view
        return
    pos = start
    while pos < end:
        data = await _read(fh, pos, min(chunk, end - pos))
        if not data:
            return
        pos += len(data)
        yield data


async def wait_for_plan(image: SquashedImage) -> SquashedImage:
    """Wait until the worker has planned (size known, partial file created) or finished.

    Returns the row; raises SquashHTTPError when the build failed before its first byte, which
    still lets us answer with a proper error status.
    """
    delay = FIRST_POLL
    while True:
        if image.state == SquashedImage.State.READY:
            return image
        if image.state == SquashedImage.State.FAILED:
            raise SquashHTTPError(500, "SQUASH_FAILED", image.error or "squash build failed")
        if image.is_stale:
            image, _ = await sync_to_async(_restart_stale)(image)
            continue
        if image.partial_name and (image.size is not None or image.compression != "none"):
            return image
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, MAX_POLL)
        fresh = await get_row(image.pk)
        if fresh is None:
            raise SquashHTTPError(503, "SQUASH_EVICTED", "the squash was evicted; retry")
        image = fresh


def _restart_stale(image: SquashedImage) -> tuple[SquashedImage, bool]:
    won = cache.restart(image)
    return image, won


def follow_build(request, target: Target, image: SquashedImage, started: float) -> HttpResponse:
    """Stream the file the worker is writing, as it grows; ``image`` has been planned."""
    path = cache.cache_dir() / image.partial_name
    # FileNotFoundError: finished meanwhile, caller retries. The shared lock follows the inode
    # through the rename, so eviction cannot take the finished file from under us either.
    fh = cache.open_for_reading(path)
    size = image.size
    byte_range = None
    if size is not None and request.META.get("HTTP_RANGE"):
        try:
            byte_range = parse_range(request.META["HTTP_RANGE"], size)
        except SquashHTTPError:
            fh.close()
            raise
    start, end = byte_range or (0, size)
    status = 206 if byte_range else 200
    body = _follow(fh, image, start, end, target, request, started, status)
    response = StreamingHttpResponse(body, status=status)
    _common_headers(response, target, image)
    if size is not None:
        response["Content-Length"] = str(end - start)
        response["Accept-Ranges"] = "bytes"
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response["X-Squash-Source"] = "build"
    return response


async def _follow(
    fh: BinaryIO,
    image: SquashedImage,
    start: int,
    end: int | None,
    target: Target,
    request,
    started: float,
    status: int,
) -> AsyncIterator[bytes]:
    chunk = settings.QS_SQUASH_CHUNK_BYTES
    pos = start
    attempt = image.attempt
    last_check = time.monotonic()
    fd = fh.fileno()
    try:
        while end is None or pos < end:
            available = os.fstat(fd).st_size
            limit = available if end is None else min(available, end)
            if limit > pos:
                data = await _read(fh, pos, min(chunk, limit - pos))
                pos += len(data)
                yield data
                continue
            if time.monotonic() - last_check >= LIVENESS_EVERY:
                last_check = time.monotonic()
                row = await get_row(image.pk)
                if row is None or row.attempt != attempt:
                    raise BuildInterrupted("the squash build was restarted or evicted")
                if row.state == SquashedImage.State.FAILED:
                    raise BuildInterrupted(f"squash build failed: {row.error}")
                if row.is_stale:
                    raise BuildInterrupted("the squash build worker stopped responding")
                if row.state == SquashedImage.State.READY:
                    # Our descriptor is the renamed file's inode: every byte is there now.
                    if end is None:
                        end = row.size
                    last_check = 0.0
                    if os.fstat(fd).st_size < (end or 0):
                        raise BuildInterrupted("squash file shorter than its recorded size")
                    continue
            await asyncio.sleep(FILE_POLL)
    finally:
        fh.close()
        complete = end is not None and pos == end
        if not complete:
            log.warning("squash %s: follower stopped at %d of %s bytes", image.pk, pos, end or "?")
        record_pull(
            target,
            request,
            started,
            source="build",
            status=status,
            bytes_sent=pos - start,
            complete=complete,
        )

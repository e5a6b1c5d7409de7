"""Sending squashes to clients: from the storage (through :mod:`quaysquash.core.serving`:
Range, ETag, X-Accel-Redirect, presigned redirects) or by following the segments a worker on
any host commits while it builds.

Everything here runs on the event loop: a download costs a coroutine, not a thread, so a few
hundred of them fit in one uvicorn process. Storage reads run on threads.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from quaysquash.core import serving
from quaysquash.storage import get_storage

from . import cache, progress, wakeups
from .models import EXTENSIONS, PullLog, SquashedImage
from .resolve import SquashHTTPError, Target

log = logging.getLogger(__name__)

# Before headers, a follower re-reads the row when the worker announces a change (the plan),
# else polls it quickly (time to first byte matters); once streaming, it reads the build's
# progress (Redis) when woken or, caught up without a wake-up, every PROGRESS_POLL (more
# rarely while wake-ups work: only a lost message waits for it), and the row for liveness.
FIRST_POLL, MAX_POLL = 0.01, 0.05
LIVENESS_EVERY = 0.5
PROGRESS_POLL, PROGRESS_POLL_WOKEN = 0.02, 0.1

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
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # called on a worker thread (serve_cached): it may block
        _write_log(fields)
        return
    task = loop.create_task(sync_to_async(_write_log, thread_sensitive=False)(fields))
    _background.add(task)
    task.add_done_callback(_background.discard)


def _get(pk: int) -> SquashedImage | None:
    return SquashedImage.objects.filter(pk=pk).first()


get_row = sync_to_async(_get, thread_sensitive=False)


def _etag(image: SquashedImage) -> str:
    return f'"{image.sha256}"'


def _filename(target: Target, image: SquashedImage) -> str:
    base = target.repository.name.replace("/", "-")
    label = target.tag or target.manifest.digest.split(":")[-1][:12]
    suffix = {"docker": "", "oci": "-oci", "rootfs": "-rootfs"}[image.format]
    return f"{base}-{label}{suffix}{EXTENSIONS[image.compression]}"


def _common_headers(response: HttpResponse, target: Target, image: SquashedImage) -> None:
    response["Content-Type"] = image.media_type
    response["Content-Disposition"] = f'attachment; filename="{_filename(target, image)}"'
    response["Docker-Content-Digest"] = target.manifest.digest
    response["Cache-Control"] = "private, no-transform"


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an async generator (a sync iterator would make Django warn on every HEAD)


def _stored(target: Target, image: SquashedImage) -> serving.Stored:
    return serving.Stored(
        key=cache.object_key(image.file_name),
        size=image.size or 0,
        etag=_etag(image),
        content_type=image.media_type,
        last_modified=int(image.finished.timestamp()) if image.finished else None,
        filename=_filename(target, image),
        headers={
            "Docker-Content-Digest": target.manifest.digest,
            "Cache-Control": "private, no-transform",
        },
    )


def head_response(request, target: Target, image: SquashedImage | None) -> HttpResponse:
    """What a GET would answer, without a body and without starting a build.

    A cached squash gets its full validators; otherwise ``X-Squash-Cache`` says why not and
    there is no ``Content-Length`` (the size is only known once a build has planned it).
    """
    if image is None or image.state != SquashedImage.State.READY:
        response = StreamingHttpResponse(_nothing())  # streaming: no Content-Length is added
        response["Content-Type"] = SquashedImage(compression=target.key.compression).media_type
        response["Docker-Content-Digest"] = target.manifest.digest
        response["X-Squash-Cache"] = image.state if image is not None else "missing"
        return response
    try:
        response = serving.respond(request, get_storage(), _stored(target, image), body=False)
    except serving.RangeNotSatisfiable as exc:
        return SquashHTTPError(
            416, "RANGE_INVALID", "range not satisfiable", headers=exc.headers
        ).response()
    if response.status_code != 304:
        response["X-Squash-Cache"] = "hit"
    return response


def _touch(image_id: int) -> None:
    # A streaming reader's lease: eviction spares squashes accessed within its grace period.
    SquashedImage.objects.filter(pk=image_id).update(last_accessed=timezone.now())


def serve_cached(request, target: Target, image: SquashedImage, started: float) -> HttpResponse:
    """A complete squash from the storage, with validators and byte ranges (``curl -C -``):
    a presigned redirect on S3 (unless ``QS_S3_REDIRECT=false``), X-Accel-Redirect to nginx
    when configured on the local driver, else the bytes. FileNotFoundError: the object is
    gone, the caller rebuilds."""

    def finished(status: int, sent: int, complete: bool) -> None:
        record_pull(
            target,
            request,
            started,
            source="cache",
            status=status,
            bytes_sent=sent,
            complete=complete,
        )

    prefix = settings.QS_SQUASH_X_ACCEL_PREFIX
    try:
        return serving.respond(
            request,
            get_storage(),
            _stored(target, image),
            x_accel=f"{prefix.rstrip('/')}/{image.file_name}" if prefix else None,
            on_finish=finished,
            keepalive=lambda: _touch(image.pk),
        )
    except serving.RangeNotSatisfiable as exc:
        raise SquashHTTPError(
            416, "RANGE_INVALID", "requested range not satisfiable", headers=exc.headers
        ) from exc


async def wait_for_plan(image: SquashedImage) -> SquashedImage:
    """Wait until the worker has planned (size known, segment prefix set) or finished.

    Returns the row; raises SquashHTTPError when the build failed before its first byte, which
    still lets us answer with a proper error status.
    """
    delay = FIRST_POLL
    with wakeups.watch(image.pk) as watch:
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
            await watch.wait(delay)
            delay = min(delay * 1.5, MAX_POLL)
            fresh = await get_row(image.pk)
            if fresh is None:
                raise SquashHTTPError(503, "SQUASH_EVICTED", "the squash was evicted; retry")
            image = fresh


def _restart_stale(image: SquashedImage) -> tuple[SquashedImage, bool]:
    won = cache.restart(image)
    return image, won


def follow_build(request, target: Target, image: SquashedImage, started: float) -> HttpResponse:
    """Stream the squash a worker (on any host) is building, segment by committed segment;
    ``image`` has been planned. Bytes ``Content-Length`` promises and the build does not
    deliver are never replaced: the connection is cut short instead."""
    size = image.size
    byte_range = None
    if size is not None:
        try:
            byte_range = serving.parse_range(request.META.get("HTTP_RANGE"), size)
        except serving.RangeNotSatisfiable as exc:
            raise SquashHTTPError(
                416, "RANGE_INVALID", "requested range not satisfiable", headers=exc.headers
            ) from exc
    start, end = byte_range or (0, size)
    status = 206 if byte_range else 200
    body = _follow(image, start, end, target, request, started, status)
    response = StreamingHttpResponse(body, status=status)
    _common_headers(response, target, image)
    if size is not None:
        response["Content-Length"] = str(end - start)
        response["Accept-Ranges"] = "bytes"
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response["X-Squash-Source"] = "build"
    return response


class _Progress:
    """What a follower knows of a build: committed segment ends, and the row's liveness."""

    def __init__(self, image: SquashedImage) -> None:
        self.image = image
        self.ends = progress.decode(image.segment_ends)
        self.checked = time.monotonic()

    @property
    def committed(self) -> int:
        return self.ends[-1] if self.ends else 0

    def segment(self, pos: int) -> tuple[str, int, int]:
        """Key, start and end of the committed segment holding ``pos``."""
        index = bisect.bisect_right(self.ends, pos)
        first = self.ends[index - 1] if index else 0
        return cache.segment_key(self.image.partial_name, index), first, self.ends[index]

    def _extend(self, ends: list[int]) -> None:
        if len(ends) > len(self.ends) and ends[: len(self.ends)] == self.ends:
            self.ends = ends

    async def refresh(self) -> SquashedImage | None:
        """Learn of new segments; every LIVENESS_EVERY also re-read the row. Returns the row
        once it is ready (the rest is in the finished object); raises BuildInterrupted when
        the build is gone."""
        self._extend(await asyncio.to_thread(progress.read, self.image.pk, self.image.attempt))
        if time.monotonic() - self.checked < LIVENESS_EVERY:
            return None
        self.checked = time.monotonic()
        row = await get_row(self.image.pk)
        if row is None or row.attempt != self.image.attempt:
            raise BuildInterrupted("the squash build was restarted or evicted")
        if row.state == SquashedImage.State.FAILED:
            raise BuildInterrupted(f"squash build failed: {row.error}")
        if row.is_stale:
            raise BuildInterrupted("the squash build worker stopped responding")
        self._extend(progress.decode(row.segment_ends))
        return row if row.state == SquashedImage.State.READY else None


async def _follow(
    image: SquashedImage,
    start: int,
    end: int | None,
    target: Target,
    request,
    started: float,
    status: int,
) -> AsyncIterator[bytes]:
    storage = get_storage()
    known = _Progress(image)
    pos = start
    watch = wakeups.watch(image.pk)
    try:
        while end is None or pos < end:
            if pos < known.committed:
                key, first, last = known.segment(pos)
                stop = last if end is None else min(last, end)
                try:
                    async for data in serving.stream_range(storage, key, pos - first, stop - first):
                        pos += len(data)
                        yield data
                except FileNotFoundError:
                    known.checked = 0.0  # segments go once the build is ready: ask the row
                    ready = await known.refresh()
                    if ready is None:
                        raise BuildInterrupted("a committed segment vanished") from None
                    end = ready.size if end is None else end
                    async for data in _finished(storage, ready, pos, end):
                        pos += len(data)
                        yield data
                continue
            ready = await known.refresh()
            if ready is not None:
                end = ready.size if end is None else end
                if pos < known.committed:
                    continue
                async for data in _finished(storage, ready, pos, end):
                    pos += len(data)
                    yield data
                continue
            if pos >= known.committed:
                await watch.wait(PROGRESS_POLL_WOKEN if watch.live else PROGRESS_POLL)
    finally:
        watch.close()
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


async def _finished(storage, row: SquashedImage, pos: int, end: int) -> AsyncIterator[bytes]:
    sent = pos
    async for data in serving.stream_range(storage, cache.object_key(row.file_name), pos, end):
        sent += len(data)
        yield data
    if sent < end:
        raise BuildInterrupted(f"finished squash shorter than recorded ({sent} < {end})")

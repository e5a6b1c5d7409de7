"""What a worker does to build one squash: claim the row, plan, write, publish or fail.

Kept apart from the Celery wrappers in ``tasks.py`` so tests and the ``prime --inline`` path can
run it directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

from quaysquash.registry.storage import get_storage

from . import cache, remote
from .models import SquashedImage

log = logging.getLogger(__name__)

# Followers see bytes only once they leave this buffer; small enough for a quick first byte,
# large enough that the engine's many 512-byte tar headers don't each become a syscall.
WRITE_BUFFER = 256 * 1024
# Big pieces (file contents) go straight to the file instead of through the buffer's copy.
DIRECT_WRITE = 64 * 1024


# Parsed indexes of recently squashed layers, per worker process: parsing a big layer's index
# costs tens of milliseconds that would otherwise delay every cold pull's first byte.
_INDEXES: OrderedDict[str, object] = OrderedDict()
INDEX_MEMORY = 64


def load_or_index(digest: str) -> object:
    """The engine's index of one layer, computed once per layer digest and kept in the cache."""
    if digest in _INDEXES:
        _INDEXES.move_to_end(digest)
        return _INDEXES[digest]
    index = _load_or_index(digest)
    _INDEXES[digest] = index
    while len(_INDEXES) > INDEX_MEMORY:
        _INDEXES.popitem(last=False)
    return index


def _load_or_index(digest: str) -> object:
    import squashengine as engine

    path = cache.index_path(digest)
    try:
        return engine.LayerIndex.from_bytes(path.read_bytes())
    except FileNotFoundError:
        pass
    except Exception:  # an unreadable index (old format, torn disk) is rebuilt, not fatal
        log.warning("layer index %s unreadable; reindexing", path, exc_info=True)
    storage = get_storage()
    index = engine.index_layer(lambda: storage.open(digest), digest, engine_limits())
    cache.write_atomically(path, index.to_bytes())
    return index


# --- Limits, free space and failure kinds (issue 16) -----------------------------------------
# Kept together and apart from the build flow: the engine enforces its Limits, this side adds
# what needs the host (free space) and decides how long a failure is remembered.


def engine_limits():
    """The engine's bounds, from the QS_SQUASH_MAX_* settings."""
    import squashengine as engine

    return engine.Limits(
        max_header_bytes=settings.QS_SQUASH_MAX_HEADER_BYTES,
        max_entries=settings.QS_SQUASH_MAX_ENTRIES,
        max_path_bytes=settings.QS_SQUASH_MAX_PATH_BYTES,
        max_output_bytes=settings.QS_SQUASH_MAX_OUTPUT_BYTES,
        max_inflation_ratio=settings.QS_SQUASH_MAX_INFLATION_RATIO,
        inflation_grace_bytes=settings.QS_SQUASH_MAX_INFLATION_GRACE_BYTES,
    )


class InsufficientSpaceError(Exception):
    """The cache's filesystem cannot take a planned squash now (transient: space comes back)."""


def check_free_space(planned_bytes: int) -> None:
    """Refuse a build before its first byte (and before followers send headers) when the cache
    filesystem cannot hold ``planned_bytes`` and still keep QS_SQUASH_MIN_FREE_BYTES free."""
    where = cache.cache_dir()
    while not where.exists() and where != where.parent:
        where = where.parent  # not created yet: the filesystem it will be on
    free = shutil.disk_usage(where).free
    keep = settings.QS_SQUASH_MIN_FREE_BYTES
    if free < planned_bytes + keep:
        raise InsufficientSpaceError(
            f"not enough free space for the squash: {planned_bytes} bytes planned, "
            f"{free} free, {keep} kept free"
        )


def failure_fields(exc: BaseException, attempt: int) -> dict:
    """How a failed build is remembered: a content failure (the image itself) for
    QS_SQUASH_CONTENT_FAILURE_SECONDS, anything else with an exponential backoff."""
    import squashengine as engine

    now = timezone.now()
    if isinstance(exc, engine.ContentError):
        wait = settings.QS_SQUASH_CONTENT_FAILURE_SECONDS
        kind = SquashedImage.Failure.CONTENT
    else:
        doubling = 2 ** min(max(attempt - 1, 0), 20)
        wait = min(
            settings.QS_SQUASH_RETRY_BASE_SECONDS * doubling, settings.QS_SQUASH_RETRY_MAX_SECONDS
        )
        kind = SquashedImage.Failure.TRANSIENT
    return {"failure": kind, "retry_after": now + timedelta(seconds=wait)}


class CountingWriter:
    """A write-only file that buffers and counts what the engine writes (the engine hashes)."""

    def __init__(self, fd: int, max_rate: int = 0) -> None:
        self.fd = fd
        self.max_rate = max_rate
        self.started = time.monotonic()
        self.buffer = bytearray()
        self.written = 0  # bytes that reached the file, visible to followers

    def write(self, data) -> int:
        n = len(data)
        if n >= DIRECT_WRITE:
            self.flush()  # keep the order: buffered headers first
            self._write_all(memoryview(data))
        else:
            self.buffer += data
            if len(self.buffer) >= WRITE_BUFFER:
                self.flush()
        return n

    def flush(self) -> None:
        if self.buffer:
            self._write_all(memoryview(self.buffer))
            self.buffer = bytearray()

    def _write_all(self, view: memoryview) -> None:
        while view:
            done = os.write(self.fd, view)
            view = view[done:]
            self.written += done
        if self.max_rate:
            ahead = self.written / self.max_rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)


class Heartbeat(threading.Thread):
    """Refreshes the row's heartbeat and progress while the build runs, from its own thread so
    that a long plan or a slow layer never looks like a dead worker."""

    def __init__(self, image_id: int, attempt: int, progress: Callable[[], int]) -> None:
        super().__init__(daemon=True, name=f"squash-heartbeat-{image_id}")
        self.image_id = image_id
        self.attempt = attempt
        self.progress = progress
        self.stopped = threading.Event()
        self.lost = False  # somebody restarted the key: our output would be discarded

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.QS_SQUASH_HEARTBEAT_SECONDS):
                updated = SquashedImage.objects.filter(
                    pk=self.image_id, attempt=self.attempt, state=SquashedImage.State.BUILDING
                ).update(heartbeat=timezone.now(), bytes_written=self.progress())
                if not updated:
                    self.lost = True
        except Exception:
            log.exception("squash %s: heartbeat failed", self.image_id)
        finally:
            close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


def claim(image_id: int, task_id: str) -> SquashedImage | None:
    """Take ownership of a queued build; None if it is done, or owned by a live worker.

    A message Celery redelivers (acks_late, worker lost) carries the same task id, so its new
    run takes over from the dead one; a duplicate task for a live build backs off.
    """
    image = SquashedImage.objects.filter(pk=image_id).first()
    if image is None or image.state != SquashedImage.State.BUILDING:
        return None
    stale = timezone.now() - timedelta(seconds=settings.QS_SQUASH_STALE_SECONDS)
    claimable = Q(task_id="") | Q(task_id=task_id) | Q(heartbeat__lt=stale)
    fields: dict = {
        "task_id": task_id,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "heartbeat": timezone.now(),
        "bytes_written": 0,
    }
    if image.task_id:
        # Taking over from a dead run: a new attempt (and partial name), so that requests
        # following the dead run's bytes are cut rather than fed a second copy.
        fields.update(attempt=F("attempt") + 1, size=None, partial_name="")
    won = (
        SquashedImage.objects.filter(
            claimable, pk=image_id, attempt=image.attempt, task_id=image.task_id
        )
        .filter(state=SquashedImage.State.BUILDING)
        .update(**fields)
    )
    if not won:
        return None
    image.refresh_from_db()
    return image


def _mark(image: SquashedImage, **fields) -> bool:
    return bool(
        SquashedImage.objects.filter(
            pk=image.pk, attempt=image.attempt, state=SquashedImage.State.BUILDING
        ).update(**fields)
    )


def _opener(digest: str) -> Callable[[], BinaryIO]:
    storage = get_storage()
    return lambda: storage.open(digest)


def build(image_id: int, task_id: str) -> str:
    """Build the squash of row ``image_id`` if this worker can claim it; returns what happened.

    Guarantees: the complete file appears under its final name only after fsync and only with
    the row marked ready and its sha256; on any error the row is failed with a user-facing
    reason and the partial file is deleted.
    """
    import squashengine as engine

    image = claim(image_id, task_id)
    if image is None:
        return "skipped"
    partial = cache.cache_dir() / cache.partial_name(image)
    partial.parent.mkdir(parents=True, exist_ok=True)
    writer: CountingWriter | None = None
    beat = Heartbeat(image.pk, image.attempt, lambda: writer.written if writer else 0)
    beat.start()
    t0 = time.monotonic()
    try:
        manifest = image.image_manifest
        layers = [
            engine.LayerInput(
                digest=layer.blob.digest,
                open_blob=_opener(layer.blob.digest),
                index=load_or_index(layer.blob.digest),
            )
            for layer in manifest.layers.select_related("blob").order_by("position")
        ]
        storage = get_storage()
        with storage.open(manifest.config_blob.digest) as fh:
            config = fh.read()
        t_indexed = time.monotonic()
        plan = engine.plan_squash(
            layers,
            config,
            format=image.format,
            repo_tag=image.repo_tag or None,
            compression=image.compression,
            limits=engine_limits(),
        )
        check_free_space(plan.planned_bytes)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            # Size first, then bytes: followers send Content-Length before the first byte.
            if not _mark(image, size=plan.size, partial_name=cache.partial_name(image)):
                return "superseded"
            t_planned = time.monotonic()
            writer = CountingWriter(fd, settings.QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND)
            # The whole file's sha256 (the ETag of cached pulls) is computed after the last
            # byte is written rather than alongside: followers then finish their download
            # before it, instead of sharing the two cores with a second hash of every byte.
            result = engine.write_squash(plan, writer, None, hash_output=False)
            writer.flush()
            digest = result.sha256 or _file_sha256(partial)
            os.fsync(fd)
        finally:
            os.close(fd)
        if writer.written != result.size or (plan.size is not None and plan.size != result.size):
            raise engine.SquashError(
                f"internal error: wrote {writer.written} bytes, planned {plan.size}"
            )
        final = cache.cache_dir() / cache.final_name(image)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        _fsync_dir(final.parent)
        if not _mark(
            image,
            state=SquashedImage.State.READY,
            size=writer.written,
            bytes_written=writer.written,
            sha256=digest,
            file_name=cache.final_name(image),
            finished=timezone.now(),
            heartbeat=timezone.now(),
        ):
            final.unlink(missing_ok=True)
            return "superseded"
        remote.publish(image.pk)  # S3 storage: a bucket copy for redirected cached pulls
        log.info(
            "squash %s: ready, %d bytes, %s (indexes %.3fs, plan %.3fs, write %.3fs)",
            image.pk,
            writer.written,
            digest,
            t_indexed - t0,
            t_planned - t_indexed,
            time.monotonic() - t_planned,
        )
        return "ready"
    except Exception as exc:
        expected = isinstance(exc, (engine.SquashError, InsufficientSpaceError))
        reason = str(exc) if expected else f"build failed: {exc!r}"
        log.warning("squash %s: %s", image.pk, reason, exc_info=not expected)
        partial.unlink(missing_ok=True)
        _mark(
            image,
            state=SquashedImage.State.FAILED,
            error=reason,
            finished=timezone.now(),
            heartbeat=timezone.now(),
            **failure_fields(exc, image.attempt),
        )
        return "failed"
    finally:
        beat.stop()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

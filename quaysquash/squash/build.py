"""What a worker does to build one squash: claim the row, plan, write, publish or fail.

Kept apart from the Celery wrappers in ``tasks.py`` so tests and the ``prime --inline`` path can
run it directly. The archive goes into the shared storage as committed segments
(:mod:`.segments`) that followers on any host read while it is written; once complete it is
assembled into one object, and only then is the row ready.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

from quaysquash.storage import blob_key, get_storage
from quaysquash.storage.layercache import open_layer

from . import bounds, cache, progress, wakeups
from .models import SquashedImage
from .segments import SegmentWriter

log = logging.getLogger(__name__)


# Parsed indexes of recently squashed layers, per worker process: parsing a big layer's index
# costs tens of milliseconds that would otherwise delay every cold pull's first byte.
# Content-addressed, so never stale: only the memory bound matters.
@lru_cache(maxsize=64)
def load_or_index(digest: str):
    """The engine's ``LayerIndex`` of one layer: computed once per layer digest for the whole
    fleet and kept in the shared storage (``indexes/<algo>/<hex>.idx``)."""
    return _load_or_index(digest)


def _load_or_index(digest: str):
    import squashengine as engine

    storage = get_storage()
    key = cache.index_key(digest)
    try:
        return engine.LayerIndex.from_bytes(storage.read_bytes(key))
    except FileNotFoundError:
        pass
    except Exception:  # an unreadable index (old format, torn write) is rebuilt, not fatal
        log.warning("layer index %s unreadable; reindexing", key, exc_info=True)
    index = engine.index_layer(_opener(digest), digest, bounds.engine_limits())
    storage.write(key, [index.to_bytes()])
    return index


class Heartbeat(threading.Thread):
    """Refreshes the row's heartbeat and progress while the build runs, from its own thread so
    that a long plan or a slow layer never looks like a dead worker."""

    def __init__(self, image_id: int, attempt: int, progress: Callable[[], list[int]]) -> None:
        super().__init__(daemon=True, name=f"squash-heartbeat-{image_id}")
        self.image_id = image_id
        self.attempt = attempt
        self.progress = progress
        self.stopped = threading.Event()
        self.lost = False  # somebody restarted the key: our output would be discarded

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.QS_SQUASH_HEARTBEAT_SECONDS):
                ends = self.progress()
                updated = SquashedImage.objects.filter(
                    pk=self.image_id, attempt=self.attempt, state=SquashedImage.State.BUILDING
                ).update(
                    heartbeat=timezone.now(),
                    bytes_written=ends[-1] if ends else 0,
                    segment_ends=progress.encode(ends),
                )
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
        "segment_ends": "",
    }
    if image.task_id:
        # Taking over from a dead run: a new attempt (and segment prefix), so that requests
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
    # Through this host's bounded layer cache: a base layer shared by many images is fetched
    # from the bucket once per host, not once per build.
    return lambda: open_layer(digest)


def _writer(image: SquashedImage, scratch: Path) -> SegmentWriter:
    partial = cache.partial_name(image)
    return SegmentWriter(
        get_storage(),
        scratch,
        lambda index: cache.segment_key(partial, index),
        lambda ends: _publish(image, ends),
        segment_bytes=settings.QS_SQUASH_SEGMENT_BYTES,
        segment_seconds=settings.QS_SQUASH_SEGMENT_SECONDS,
        max_rate=settings.QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND,
    )


def _publish(image: SquashedImage, ends: list[int]) -> None:
    progress.publish(image.pk, image.attempt, ends)
    wakeups.announce(image.pk)  # after the list: a follower woken reads the new one


def _plan(image: SquashedImage):
    import squashengine as engine

    layers = [
        engine.LayerInput(
            digest=layer.blob.digest,
            open_blob=_opener(layer.blob.digest),
            index=load_or_index(layer.blob.digest),
        )
        for layer in image.image_manifest.layers.select_related("blob").order_by("position")
    ]
    config = get_storage().read_bytes(blob_key(image.image_manifest.config_blob.digest))
    return engine.plan_squash(
        layers,
        config,
        format=image.format,
        repo_tag=image.repo_tag or None,
        compression=image.compression,
        limits=bounds.engine_limits(),
    )


def _drop_segments(image: SquashedImage) -> None:
    try:
        get_storage().delete_prefix(cache.object_key(cache.partial_name(image)))
    except Exception:  # the eviction's orphan pass removes what is left
        log.warning("squash %s: could not delete its segments", image.pk, exc_info=True)
    progress.forget(image.pk, image.attempt)


def build(image_id: int, task_id: str) -> str:
    """Build the squash of row ``image_id`` if this worker can claim it; returns what happened.

    Guarantees: the finished object exists under its final name only complete, and the row is
    ready (with its sha256) only after that; segments are committed in order and never
    rewritten, so a follower never reads a byte that changes; on any error the row is failed
    with a user-facing reason and the segments are deleted.
    """
    import squashengine as engine

    image = claim(image_id, task_id)
    if image is None:
        return "skipped"
    storage = get_storage()
    scratch = storage.staging_dir() / f"squash-{image.pk}.{image.attempt}.partial"
    writer: SegmentWriter | None = None
    beat = Heartbeat(image.pk, image.attempt, lambda: list(writer.ends) if writer else [])
    beat.start()
    t0 = time.monotonic()
    try:
        plan = _plan(image)
        bounds.check_free_space(plan.planned_bytes)
        t_planned = time.monotonic()
        # Size first, then bytes: followers send Content-Length before the first byte.
        if not _mark(image, size=plan.size, partial_name=cache.partial_name(image)):
            return "superseded"
        wakeups.announce(image.pk)  # requests waiting for the plan send their headers
        writer = _writer(image, scratch)
        # The whole file's sha256 (the ETag of cached pulls) is computed after the last
        # byte is committed rather than alongside: followers then finish their download
        # before it, instead of sharing the cores with a second hash of every byte.
        result = engine.write_squash(plan, writer, None, hash_output=False)
        writer.close()
        if writer.committed != result.size or (plan.size is not None and plan.size != result.size):
            raise engine.SquashError(
                f"internal error: wrote {writer.committed} bytes, planned {plan.size}"
            )
        digest = result.sha256 or writer.sha256()
        final = cache.final_name(image)
        storage.assemble(cache.object_key(final), writer.keys, local_copy=writer.local_copy)
        if not _mark(
            image,
            state=SquashedImage.State.READY,
            size=writer.committed,
            bytes_written=writer.committed,
            segment_ends=progress.encode(writer.ends),
            sha256=digest,
            diff_id=result.diff_id,
            file_name=final,
            finished=timezone.now(),
            heartbeat=timezone.now(),
        ):
            storage.delete(cache.object_key(final))
            return "superseded"
        log.info(
            "squash %s: ready, %d bytes in %d segments, %s (plan %.3fs, write %.3fs)",
            image.pk,
            writer.committed,
            len(writer.keys),
            digest,
            t_planned - t0,
            time.monotonic() - t_planned,
        )
        return "ready"
    except Exception as exc:
        if writer is not None:
            writer.abort()
        expected = isinstance(exc, (engine.SquashError, bounds.InsufficientSpaceError))
        # An unexpected exception's text may name a path or a bucket key: the log has it.
        reason = str(exc) if expected else f"build failed: internal error ({type(exc).__name__})"
        log.warning("squash %s: %s", image.pk, reason, exc_info=not expected)
        _mark(
            image,
            state=SquashedImage.State.FAILED,
            error=reason,
            finished=timezone.now(),
            heartbeat=timezone.now(),
            **bounds.failure_fields(exc, image.attempt),
        )
        return "failed"
    finally:
        beat.stop()
        wakeups.announce(image.pk)  # ready or failed: followers look now
        _drop_segments(image)
        scratch.unlink(missing_ok=True)

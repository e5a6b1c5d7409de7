"""Keeping the cache within its budget: LRU eviction, orphan cleanup, dead-build janitor."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import cache, remote
from .models import SquashedImage

log = logging.getLogger(__name__)

# A file this young may belong to a row that is being created right now.
ORPHAN_GRACE_SECONDS = 300


def fail_dead_builds() -> int:
    """Mark builds whose worker stopped beating as failed, so the next request restarts them."""
    dead = 0
    for image in SquashedImage.objects.filter(state=SquashedImage.State.BUILDING):
        if image.is_stale:
            dead += SquashedImage.objects.filter(
                pk=image.pk, attempt=image.attempt, state=SquashedImage.State.BUILDING
            ).update(
                state=SquashedImage.State.FAILED,
                error="the build worker stopped responding; the next pull retries",
                finished=timezone.now(),
            )
    return dead


def _remove_orphans() -> int:
    """Files no row points at: stale partials of dead attempts, blobs of deleted rows."""
    live = set()
    for partial, final in SquashedImage.objects.values_list("partial_name", "file_name"):
        live.update(n for n in (partial, final) if n)
    building = {
        cache.partial_name(img)
        for img in SquashedImage.objects.filter(state=SquashedImage.State.BUILDING)
    }
    now = time.time()
    freed = 0
    for sub in ("blobs", "partial"):
        keep = live if sub == "blobs" else building
        for path in cache.subdir(sub).iterdir():
            if f"{sub}/{path.name}" in keep:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            # A young file may belong to a row or attempt created after the queries above.
            if now - st.st_mtime < ORPHAN_GRACE_SECONDS:
                continue
            path.unlink(missing_ok=True)
            freed += st.st_size
    # Bucket copies (S3 storage) of squashes whose row is gone.
    remote.remove_orphans(live, ORPHAN_GRACE_SECONDS)
    return freed


def _try_delete(image: SquashedImage) -> bool:
    """Delete a ready squash unless somebody holds it open (shared flock)."""
    path = cache.cache_dir() / image.file_name
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        SquashedImage.objects.filter(pk=image.pk, state=SquashedImage.State.READY).delete()
        remote.delete(image.file_name)
        return True
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        # Row first: a request that finds no row rebuilds; one that found the row a moment
        # ago and opens the file now still reads complete bytes from the unlinked inode.
        SquashedImage.objects.filter(pk=image.pk, attempt=image.attempt).delete()
        os.unlink(path)
    # The bucket copy goes too (S3 storage): with the row gone, no new redirect names it.
    remote.delete(image.file_name)
    return True


def cache_bytes() -> int:
    total = 0
    for sub in ("blobs", "partial"):
        for path in cache.subdir(sub).iterdir():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
    return total


def collect(max_bytes: int | None = None) -> dict:
    """Run the janitor and evict least recently used squashes down to ``max_bytes``."""
    budget = settings.QS_SQUASH_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    dead = fail_dead_builds()
    orphans = _remove_orphans()
    total = cache_bytes()
    evicted, freed, skipped = 0, 0, 0
    if total > budget:
        candidates = SquashedImage.objects.filter(state=SquashedImage.State.READY).order_by(
            "last_accessed"
        )
        for image in candidates:
            if total <= budget:
                break
            size = _size(cache.cache_dir() / image.file_name)
            if _try_delete(image):
                evicted += 1
                freed += size
                total -= size
            else:
                skipped += 1
    result = {
        "dead_builds": dead,
        "orphan_bytes": orphans,
        "evicted": evicted,
        "freed_bytes": freed,
        "in_use_skipped": skipped,
        "total_bytes": total,
        "budget_bytes": budget,
    }
    log.info("squash cache gc: %s", result)
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0

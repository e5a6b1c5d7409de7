"""Keeping the squashes within the fleet's budget: LRU eviction, orphan cleanup, dead-build
janitor, all on the shared storage and the database, so it may run on any host.

The budget (``QS_SQUASH_CACHE_MAX_BYTES``) counts the sizes the rows record: ready squashes
plus the committed bytes of builds in progress. Readers are protected by a lease instead of a
lock: every pull of a ready squash renews ``last_accessed`` (at most once a minute, and once a
minute while a stream lasts), and eviction only takes rows whose lease is older than
``QS_SQUASH_EVICT_GRACE_SECONDS`` (longer than a presigned URL's lifetime), with a DELETE
conditional on the lease it saw. A pull renewing at that moment either wins (the squash stays)
or finds the row gone and rebuilds. A reader already streaming when its squash is deleted keeps
its bytes: an open local file survives unlinking, and a GET already answering from S3 finishes.
Builds are never touched except to fail those whose worker died.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from quaysquash.storage import get_storage

from . import cache
from .models import SquashedImage

log = logging.getLogger(__name__)

# An object this young may belong to a row that is being created right now.
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
    """Objects no row points at: finished squashes of deleted rows or superseded attempts,
    segments of dead attempts. Returns the bytes freed."""
    storage = get_storage()
    finished = set(SquashedImage.objects.exclude(file_name="").values_list("file_name", flat=True))
    building = set(
        SquashedImage.objects.filter(state=SquashedImage.State.BUILDING)
        .exclude(partial_name="")
        .values_list("partial_name", flat=True)
    )
    oldest = time.time() - ORPHAN_GRACE_SECONDS
    freed = 0
    for info in list(storage.list(cache.object_key(""))):
        name = info.key.removeprefix(cache.object_key(""))
        if name in finished or name.rsplit("/", 1)[0] + "/" in building:
            continue
        if info.modified >= oldest:
            continue
        storage.delete(info.key)
        freed += info.size
    return freed


def _try_delete(image: SquashedImage) -> bool:
    """Delete a ready squash unless its lease was renewed meanwhile: row first, then object."""
    deleted, _ = SquashedImage.objects.filter(
        pk=image.pk,
        attempt=image.attempt,
        state=SquashedImage.State.READY,
        last_accessed=image.last_accessed,
    ).delete()
    if not deleted:
        return False
    if image.file_name:
        get_storage().delete(cache.object_key(image.file_name))
    return True


def cache_bytes() -> int:
    """The fleet's squash bytes, as the rows record them."""
    ready = SquashedImage.objects.filter(state=SquashedImage.State.READY).aggregate(n=Sum("size"))
    building = SquashedImage.objects.filter(state=SquashedImage.State.BUILDING).aggregate(
        n=Sum("bytes_written")
    )
    return (ready["n"] or 0) + (building["n"] or 0)


def grace_seconds() -> float:
    # Longer than a presigned URL's lifetime by default (900 > 600): a redirected client starts
    # its download before its squash can go.
    return settings.QS_SQUASH_EVICT_GRACE_SECONDS


def collect(max_bytes: int | None = None) -> dict:
    """Run the janitor and evict least recently used squashes down to ``max_bytes``."""
    budget = settings.QS_SQUASH_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    dead = fail_dead_builds()
    orphans = _remove_orphans()
    total = cache_bytes()
    evicted, freed, skipped = 0, 0, 0
    if total > budget:
        leased = timezone.now() - timedelta(seconds=grace_seconds())
        ready = SquashedImage.objects.filter(state=SquashedImage.State.READY)
        skipped = ready.filter(last_accessed__gte=leased).count()
        for image in ready.filter(last_accessed__lt=leased).order_by("last_accessed"):
            if total <= budget:
                break
            if _try_delete(image):
                evicted += 1
                freed += image.size or 0
                total -= image.size or 0
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

"""Celery tasks of squash delivery. Every task takes IDs or digests, never model instances."""

from __future__ import annotations

from celery import shared_task

from . import build as builder
from . import eviction


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def build_squash(self, squashed_image_id: int) -> str:
    """Build the squash of one cache row.

    Guarantees: at most one live build per row (the worker claims the row; a duplicate task
    backs off), committed segments in the shared storage are complete and never rewritten, the
    finished object exists only complete, before the row is ``ready`` with its sha256; a
    failure leaves the row ``failed`` with a user-facing reason and no segments.
    Late acknowledgement re-queues the task if the worker dies; the redelivered message (same
    task id) takes the build over.
    """
    return builder.build(squashed_image_id, self.request.id or "")


@shared_task(acks_late=True, reject_on_worker_lost=True)
def index_layer(digest: str) -> str:
    """Index one layer blob (the engine's ``LayerIndex``) unless it already is.

    Guarantees: the index appears atomically in the shared storage and serves every image
    using the layer on every host; a corrupt blob raises the engine's error (the task fails,
    nothing is stored).
    """
    builder.load_or_index(digest)
    return digest


@shared_task
def evict_cache() -> dict:
    """Periodic janitor: fail builds whose worker died, delete orphans, then evict least
    recently used squashes until the cache fits ``QS_SQUASH_CACHE_MAX_BYTES``.

    Guarantees: never deletes a squash that is being built, nor one read within
    ``QS_SQUASH_EVICT_GRACE_SECONDS`` (its lease); safe to run on any host.
    """
    return eviction.collect()

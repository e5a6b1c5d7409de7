"""Expiration of pulled-through images that nobody uses any more, with their squashes."""

from __future__ import annotations

import logging
from datetime import datetime

from quaysquash.squash import eviction
from quaysquash.squash.models import SquashedImage

from . import images
from .models import CachedImage

log = logging.getLogger(__name__)


def _drop_squashes(repository_id: int, digest: str) -> None:
    rows = SquashedImage.objects.filter(repository_id=repository_id, manifest_digest=digest)
    for image in rows.filter(state=SquashedImage.State.READY):
        eviction._try_delete(image)
    rows.filter(state=SquashedImage.State.FAILED).delete()


def expire(cutoff: datetime) -> int:
    """Drop every cached image last used before ``cutoff``; returns how many."""
    removed = 0
    for cached in CachedImage.objects.filter(last_used__lt=cutoff).select_related("repository"):
        tags = images.drop(cached.repository, cached.digest)
        _drop_squashes(cached.repository_id, cached.digest)
        log.info(
            "proxy %s: expired %s (tags %s), unused since %s",
            cached.repository.full_name,
            cached.digest,
            ", ".join(tags) or "none",
            cached.last_used.isoformat(),
        )
        removed += 1
    return removed

"""Periodic housekeeping of the registry: stale upload sessions."""

from __future__ import annotations

import datetime
import logging
import time
import uuid

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from quaysquash.storage import get_storage

from . import uploads
from .models import Upload

log = logging.getLogger(__name__)

CLEANUP_TASK = "quaysquash.registry.tasks.cleanup_stale_uploads"
DEFAULT_MAX_AGE = datetime.timedelta(hours=24)


def _max_age() -> datetime.timedelta:
    seconds = getattr(settings, "QS_REGISTRY_UPLOAD_MAX_AGE_SECONDS", None)
    return datetime.timedelta(seconds=float(seconds)) if seconds else DEFAULT_MAX_AGE


def cleanup_stale_uploads(max_age: datetime.timedelta | None = None) -> dict[str, int]:
    """Remove upload sessions untouched for ``max_age`` and stray upload objects.

    Guarantees: after it returns, no session whose last chunk arrived more than ``max_age``
    ago exists (its row and its chunks in storage are gone, so the client gets
    ``BLOB_UPLOAD_UNKNOWN`` and must start over); no chunk older than ``max_age`` remains in
    the shared storage unless it belongs to a live session; no staged body on this host, no
    temporary object, and (S3) no multipart upload begun more than ``max_age`` ago remains.
    Blobs are never touched: a blob only exists after its upload was verified and committed
    under its own key, so removing upload objects can never lose or truncate committed content.
    Sessions active within ``max_age`` are left alone. Safe to run concurrently with uploads,
    with itself and on several hosts.
    """
    max_age = max_age or _max_age()
    cutoff = timezone.now() - max_age
    sessions = 0
    for upload_id in Upload.objects.filter(updated__lt=cutoff).values_list("pk", flat=True):
        # Delete the row first: a request racing with us then fails cleanly instead of
        # extending a session whose chunks are about to vanish.
        if Upload.objects.filter(pk=upload_id, updated__lt=cutoff).delete()[0]:
            uploads.discard(str(upload_id))
            sessions += 1
    storage = get_storage()
    oldest = time.time() - max_age.total_seconds()
    stray = [
        info.key
        for info in storage.list("uploads/")
        if info.modified < oldest and not Upload.objects.filter(pk=_session_of(info.key)).exists()
    ]
    for key in stray:
        storage.delete(key)
    result = {"sessions": sessions, "files": len(stray)}
    result.update(storage.cleanup(oldest))
    if sessions or stray:
        log.info(
            "removed %d stale upload sessions and %d stray upload objects", sessions, len(stray)
        )
    return result


def _session_of(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.split("/")[1])
    except (IndexError, ValueError):
        return None


@shared_task(name=CLEANUP_TASK)
def cleanup_stale_uploads_task() -> dict[str, int]:
    return cleanup_stale_uploads()


def _schedule() -> None:
    # settings.py belongs to the whole project; registering here keeps the registry's
    # housekeeping with the registry. Beat reads the schedule after task modules are imported.
    from quaysquash.celery import app

    schedule = app.conf.beat_schedule
    if schedule is None:
        app.conf.beat_schedule = schedule = {}
    schedule.setdefault(
        "registry-cleanup-stale-uploads",
        {
            "task": CLEANUP_TASK,
            "schedule": float(getattr(settings, "QS_REGISTRY_UPLOAD_CLEANUP_INTERVAL", 3600)),
        },
    )


_schedule()

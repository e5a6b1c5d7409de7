"""Periodic housekeeping of the registry: stale upload sessions."""

from __future__ import annotations

import datetime
import logging
import time

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import uploads
from .models import Upload
from .storage import get_storage

log = logging.getLogger(__name__)

CLEANUP_TASK = "quaysquash.registry.tasks.cleanup_stale_uploads"
DEFAULT_MAX_AGE = datetime.timedelta(hours=24)


def _max_age() -> datetime.timedelta:
    seconds = getattr(settings, "QS_REGISTRY_UPLOAD_MAX_AGE_SECONDS", None)
    return datetime.timedelta(seconds=float(seconds)) if seconds else DEFAULT_MAX_AGE


def cleanup_stale_uploads(max_age: datetime.timedelta | None = None) -> dict[str, int]:
    """Remove upload sessions untouched for ``max_age`` and stray files in the upload area.

    Guarantees: after it returns, no session whose last chunk arrived more than ``max_age``
    ago exists (its row and its file are gone, so the client gets ``BLOB_UPLOAD_UNKNOWN`` and
    must start over), and no file in ``<storage>/uploads/`` older than ``max_age`` remains
    unless it belongs to a live session; on S3 storage, no multipart upload or temporary
    object begun more than ``max_age`` ago remains either. Blobs are never touched: a blob only exists after
    its upload was verified and atomically renamed out of the upload area, so removing upload
    files can never lose or truncate committed content. Sessions active within ``max_age`` are
    left alone. Safe to run concurrently with uploads and with itself.
    """
    max_age = max_age or _max_age()
    cutoff = timezone.now() - max_age
    sessions = 0
    for upload_id in Upload.objects.filter(updated__lt=cutoff).values_list("pk", flat=True):
        # Delete the row first: a request racing with us then fails cleanly instead of
        # writing to a file that is about to vanish.
        if Upload.objects.filter(pk=upload_id, updated__lt=cutoff).delete()[0]:
            uploads.discard(str(upload_id))
            sessions += 1
    live = {f"session-{pk}" for pk in Upload.objects.values_list("pk", flat=True)}
    files = 0
    oldest = time.time() - max_age.total_seconds()
    for path in get_storage().uploads_dir.iterdir():
        if path.name in live:
            continue
        try:
            if path.stat().st_mtime < oldest:
                path.unlink()
                files += 1
        except FileNotFoundError:
            pass
    if sessions or files:
        log.info("removed %d stale upload sessions and %d stray upload files", sessions, files)
    result = {"sessions": sessions, "files": files}
    # S3: leftovers of blob writes that died half way (parts of unfinished multipart uploads,
    # temporary keys); never a blob.
    cleanup_incomplete = getattr(get_storage(), "cleanup_incomplete", None)
    if cleanup_incomplete is not None:
        result.update(cleanup_incomplete(cutoff))
    return result


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

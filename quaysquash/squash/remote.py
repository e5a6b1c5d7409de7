"""A copy of finished squashes in the S3 bucket, so cached pulls can be redirected there.

With ``QS_STORAGE_BACKEND=s3`` a worker uploads every squash it finished to
``<prefix>squash/<file_name>`` (``file_name`` is the row's ``blobs/<id>.tar…``) after marking
it ready, and keeps the local file: followers still streaming it and Range requests read that.
``serve_cached`` then answers with a redirect to a presigned URL when the copy is there, and
eviction deletes the copy with the local file. The copy carries the squash's sha256 as object
metadata, and a redirect is only given when it matches the row, so a copy from an older build
is never served for a newer one.

Checks run on a thread for the web server's event loop (``delivery.bucket_redirect``): they use
a fail-fast client and are remembered for a while, so one HEAD per squash per minute reaches S3
at most, and an S3 outage falls back to serving the local file within two seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from django.conf import settings

from . import cache
from .models import SquashedImage

log = logging.getLogger(__name__)

# How long a check of the bucket copy is trusted: a present, matching copy for a minute (it
# only goes away with the row, by eviction); an absent one briefly, as the upload may be
# finishing right now.
PRESENT_TTL, ABSENT_TTL = 60.0, 2.0
_checked: dict[tuple[str, str], tuple[bool, float]] = {}
_checked_lock = threading.Lock()
_MAX_CHECKED = 4096


def enabled() -> bool:
    return settings.QS_STORAGE_BACKEND == "s3"


def _storage():
    from quaysquash.registry.storage import get_storage

    return get_storage()


def key(file_name: str) -> str:
    return f"{settings.QS_S3_PREFIX}squash/{file_name}"


def publish(image_id: int) -> bool:
    """Upload a ready squash to the bucket; False (logged) if that failed or is not wanted.

    Never raises: the squash is ready and served locally whatever happens here.
    """
    if not enabled():
        return False
    image = SquashedImage.objects.filter(pk=image_id, state=SquashedImage.State.READY).first()
    if image is None or not image.file_name:
        return False
    path = cache.cache_dir() / image.file_name
    try:
        _storage().upload_path(
            Path(path),
            key(image.file_name),
            {"Metadata": {"sha256": image.sha256}, "ContentType": image.media_type},
        )
    except Exception:
        log.warning("squash %s: upload to the bucket failed", image_id, exc_info=True)
        return False
    log.info("squash %s: copied to the bucket", image_id)
    return True


def redirect_url(image: SquashedImage, filename: str) -> str | None:
    """A presigned GET URL of the bucket copy of ``image``, or None to serve it locally.

    None when storage is not S3, redirects are off, or the copy is missing, unreachable or
    from another build. The URL is a bearer credential until it expires: never log it.
    """
    if not enabled() or not settings.QS_S3_REDIRECT or not image.file_name or not image.sha256:
        return None
    if not _present(image.file_name, image.sha256):
        return None
    return _storage().presign_key(
        key(image.file_name),
        ResponseContentDisposition=f'attachment; filename="{filename}"',
        ResponseContentType=image.media_type,
    )


def _present(file_name: str, sha256: str) -> bool:
    now = time.monotonic()
    memo = (file_name, sha256)
    with _checked_lock:
        known = _checked.get(memo)
    if known is not None and known[1] > now:
        return known[0]
    present = _head_matches(file_name, sha256)
    with _checked_lock:
        if len(_checked) >= _MAX_CHECKED:
            _checked.clear()
        _checked[memo] = (present, now + (PRESENT_TTL if present else ABSENT_TTL))
    return present


def _head_matches(file_name: str, sha256: str) -> bool:
    from quaysquash.registry.s3storage import client_for, is_missing

    storage = _storage()
    try:
        head = client_for(storage.config, quick=True).head_object(
            Bucket=storage.bucket, Key=key(file_name)
        )
    except Exception as exc:
        if not is_missing(exc):  # unreachable or refused: worth a line (never the URL or keys)
            log.warning("squash copy %s: bucket check failed: %s", file_name, type(exc).__name__)
        return False
    return head.get("Metadata", {}).get("sha256") == sha256


def forget(file_name: str) -> None:
    with _checked_lock:
        for memo in [m for m in _checked if m[0] == file_name]:
            _checked.pop(memo, None)


def delete(file_name: str) -> None:
    """Delete the bucket copy of a squash (eviction); failures are logged, never raised."""
    if not enabled() or not file_name:
        return
    forget(file_name)
    storage = _storage()
    try:
        storage.client.delete_object(Bucket=storage.bucket, Key=key(file_name))
    except Exception:
        log.warning("could not delete the bucket copy of %s", file_name, exc_info=True)


def remove_orphans(live: set[str], grace_seconds: float) -> int:
    """Delete bucket copies no row points at (rows deleted without eviction); returns a count.

    Copies younger than ``grace_seconds`` are kept: their row may be being created now.
    """
    if not enabled():
        return 0
    storage = _storage()
    prefix = key("blobs/")
    removed = 0
    try:
        pages = storage.client.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket, Prefix=prefix
        )
        now = time.time()
        for page in pages:
            for obj in page.get("Contents", []):
                name = "blobs/" + obj["Key"][len(prefix) :]
                if name in live or now - obj["LastModified"].timestamp() < grace_seconds:
                    continue
                storage.client.delete_object(Bucket=storage.bucket, Key=obj["Key"])
                removed += 1
    except Exception:
        log.warning("could not list or clean the squash copies in the bucket", exc_info=True)
    return removed

"""The on-disk cache and the single-flight rule that decides who starts a build.

Layout under ``QS_SQUASH_CACHE_DIR``::

    blobs/<id>.tar[.gz|.zst]        complete squashes (renamed into place after fsync)
    partial/<id>.<attempt>.partial  a build in progress; a new attempt never reuses a name
    indexes/<hex>.idx               engine layer indexes, one per layer digest, shared
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Manifest

from .models import EXTENSIONS, SquashedImage

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(settings.QS_SQUASH_CACHE_DIR)


def subdir(name: str) -> Path:
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def final_name(image: SquashedImage) -> str:
    return f"blobs/{image.pk}{EXTENSIONS[image.compression]}"


def partial_name(image: SquashedImage) -> str:
    return f"partial/{image.pk}.{image.attempt}.partial"


def index_path(digest: str) -> Path:
    return subdir("indexes") / (digest.split(":", 1)[-1] + ".idx")


def write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def open_for_reading(path: Path):
    """Open a complete squash and mark it as being read.

    The shared flock lives as long as the file object: eviction takes an exclusive,
    non-blocking lock and skips files it cannot lock. If eviction won the race, the open file
    still holds the complete (unlinked) bytes, so serving it is still correct.
    """
    fh = open(path, "rb", buffering=0)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        pass
    return fh


@dataclass(frozen=True)
class Key:
    repository: Repository
    manifest_digest: str
    platform: str
    format: str
    compression: str

    def lookup(self) -> dict:
        return {
            "repository": self.repository,
            "manifest_digest": self.manifest_digest,
            "platform": self.platform,
            "format": self.format,
            "compression": self.compression,
        }


def _enqueue(image_id: int, attempt: int) -> None:
    """Queue the build of ``attempt`` once the row is committed (the task must see it).

    If the broker is down the row is already committed as ``building``: mark that attempt
    failed at once, so no pull follows a build nobody will run (the next pull retries), and
    answer 503. Raises SquashHTTPError from the commit (or at once outside a transaction).
    """
    from .tasks import build_squash

    def publish() -> None:
        try:
            build_squash.delay(image_id)
        except Exception as exc:  # whatever failed, no task was queued for this attempt
            log.error("squash %s: could not queue the build: %r", image_id, exc)
            SquashedImage.objects.filter(
                pk=image_id, attempt=attempt, state=SquashedImage.State.BUILDING
            ).update(
                state=SquashedImage.State.FAILED,
                error="the build queue was unavailable; try again",
                finished=timezone.now(),
            )
            from .resolve import SquashHTTPError

            raise SquashHTTPError(
                503,
                "UNAVAILABLE",
                "the build queue is unavailable; try again shortly",
                headers={"Retry-After": "10"},
            ) from exc

    transaction.on_commit(publish)


def restart(image: SquashedImage) -> bool:
    """Move a failed, stale or vanished entry to a new build attempt; True if this call won.

    Conditional on the attempt we saw, so among concurrent callers exactly one wins and
    enqueues; the others follow the attempt it started.
    """
    now = timezone.now()
    won = SquashedImage.objects.filter(pk=image.pk, attempt=image.attempt).update(
        state=SquashedImage.State.BUILDING,
        attempt=F("attempt") + 1,
        task_id="",
        worker="",
        heartbeat=now,
        started=now,
        finished=None,
        size=None,
        bytes_written=0,
        sha256="",
        error="",
        failure="",
        retry_after=None,
        partial_name="",
        file_name="",
        last_accessed=now,
    )
    if won:
        log.info("squash %s: restarting build (was %s)", image.pk, image.state)
        _enqueue(image.pk, image.attempt + 1)
    image.refresh_from_db()
    return bool(won)


def may_retry(image: SquashedImage) -> bool:
    """A failed key is built again only once its ``retry_after`` passed (content failures are
    remembered long, transient ones back off); rows without one retry at once."""
    return image.retry_after is None or timezone.now() >= image.retry_after


def ensure_build(
    key: Key, image_manifest: Manifest, repo_tag: str | None
) -> tuple[SquashedImage, bool]:
    """The cache entry for ``key``, starting a build unless one is ready or running.

    Returns ``(entry, started)``; ``started`` is True only for the one caller that enqueued.
    """
    for _ in range(5):
        image = SquashedImage.objects.filter(**key.lookup()).first()
        if image is None:
            try:
                with transaction.atomic():
                    image = SquashedImage.objects.create(
                        **key.lookup(),
                        image_manifest=image_manifest,
                        repo_tag=repo_tag or "",
                        heartbeat=timezone.now(),
                    )
                    _enqueue(image.pk, image.attempt)
                return image, True
            except IntegrityError:
                continue  # someone else inserted it first: follow theirs
        if image.state == SquashedImage.State.FAILED and not may_retry(image):
            return image, False  # remembered: answered with its reason, not rebuilt
        if image.state == SquashedImage.State.FAILED or image.is_stale:
            return image, restart(image)
        if (
            image.state == SquashedImage.State.READY
            and not (cache_dir() / image.file_name).is_file()
        ):
            return image, restart(image)
        return image, False
    raise RuntimeError("could not create or find the squash cache entry")

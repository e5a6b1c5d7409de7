"""Where a squash lives in the storage layer, and the single-flight rule that decides who
starts a build.

Keys (the storage layer is shared by every host, see ``quaysquash/storage/base.py``)::

    squash/blobs/<id>.<attempt>.tar[.gz|.zst]   finished squashes (``file_name``)
    squash/partial/<id>.<attempt>/<n>           committed segments of a build (``partial_name``)
    indexes/<algo>/<hex>.idx                    engine layer indexes, one per layer digest

Nothing here looks at a host's disk: the row is the truth about a squash, the storage holds its
bytes, so any web server can serve what any worker built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Manifest
from quaysquash.storage import check_digest_syntax, get_storage

from .models import EXTENSIONS, SquashedImage

log = logging.getLogger(__name__)


def final_name(image: SquashedImage) -> str:
    # The attempt is in the name: a superseded build can never overwrite its successor's file.
    return f"blobs/{image.pk}.{image.attempt}{EXTENSIONS[image.compression]}"


def partial_name(image: SquashedImage) -> str:
    return f"partial/{image.pk}.{image.attempt}/"


def object_key(name: str) -> str:
    """The storage key of a row's ``file_name`` or ``partial_name``."""
    return f"squash/{name}"


def segment_key(partial: str, index: int) -> str:
    return object_key(f"{partial}{index:06d}")


def index_key(digest: str) -> str:
    algo, hexpart = check_digest_syntax(digest).split(":", 1)
    return f"indexes/{algo}/{hexpart}.idx"


def index_exists(digest: str) -> bool:
    return get_storage().stat(index_key(digest)) is not None


@dataclass(frozen=True)
class Key:
    repository: Repository
    manifest_digest: str
    platform: str
    format: str
    compression: str

    def lookup(self) -> dict:
        """The row's filter: each field is the SquashedImage column of the same name (not
        ``asdict``, which would deep-copy the repository)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


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

    A ready row is trusted: its object is in the shared storage (eviction deletes the row
    first). A reader that finds the object gone anyway calls :func:`restart`. Returns ``(entry, started)``; ``started`` is True only for the one caller that enqueued.
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
        return image, False
    raise RuntimeError("could not create or find the squash cache entry")

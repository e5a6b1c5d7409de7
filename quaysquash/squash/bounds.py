"""What one build may cost, and how long its failure is remembered.

The engine enforces its own :class:`squashengine.Limits`; this side adds what needs the host
(free space for the build's scratch copy and, on the local driver, the storage) and decides how
long a failed key answers with its error before it is built again.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from quaysquash.envconfig import settings_group
from quaysquash.storage import get_storage

from .models import SquashedImage


def engine_limits():
    """The engine's bounds, from the QS_SQUASH_MAX_* settings."""
    import squashengine as engine

    names = "max_header_bytes max_entries max_path_bytes max_output_bytes max_inflation_ratio"
    grace = {"inflation_grace_bytes": "QS_SQUASH_MAX_INFLATION_GRACE_BYTES"}
    return engine.Limits(**settings_group("QS_SQUASH_", names.split(), **grace))


class InsufficientSpaceError(Exception):
    """The build's disk cannot take a planned squash now (transient: space comes back)."""


def check_free_space(planned_bytes: int, where: Path | None = None) -> None:
    """Refuse a build before its first byte (and before followers send headers) when the disk
    it writes to cannot hold ``planned_bytes`` and still keep QS_SQUASH_MIN_FREE_BYTES free.

    The build keeps a scratch copy in the storage's staging directory (on the local driver,
    inside the storage root, so this also covers the storage itself)."""
    where = where or get_storage().staging_dir()
    while not where.exists() and where != where.parent:
        where = where.parent  # not created yet: the filesystem it will be on
    free = shutil.disk_usage(where).free
    keep = settings.QS_SQUASH_MIN_FREE_BYTES
    if free < planned_bytes + keep:
        raise InsufficientSpaceError(
            f"not enough free space for the squash: {planned_bytes} bytes planned, "
            f"{free} free, {keep} kept free"
        )


def failure_fields(exc: BaseException, attempt: int) -> dict:
    """How a failed build is remembered: a content failure (the image itself) for
    QS_SQUASH_CONTENT_FAILURE_SECONDS, anything else with an exponential backoff."""
    import squashengine as engine

    now = timezone.now()
    if isinstance(exc, engine.ContentError):
        wait = settings.QS_SQUASH_CONTENT_FAILURE_SECONDS
        kind = SquashedImage.Failure.CONTENT
    else:
        doubling = 2 ** min(max(attempt - 1, 0), 20)
        wait = min(
            settings.QS_SQUASH_RETRY_BASE_SECONDS * doubling, settings.QS_SQUASH_RETRY_MAX_SECONDS
        )
        kind = SquashedImage.Failure.TRANSIENT
    return {"failure": kind, "retry_after": now + timedelta(seconds=wait)}

"""One storage layer for everything that outlives a request (see :mod:`.base` for the keys).

``get_storage()`` is the configured driver: ``QS_STORAGE_BACKEND=local`` (default: files under
``QS_STORAGE_ROOT``, one disk or a directory all hosts mount) or ``s3``. Per-host disk is only
scratch (``QS_SCRATCH_DIR``): staged request bodies, build scratch, the layer read cache.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings

from . import digests
from .base import CHUNK, ObjectInfo, Storage, blob_key
from .digests import (
    ALGORITHMS,
    DIGEST_RE,
    DigestMismatch,
    check_digest_syntax,
    digest_of,
    hasher_for,
)

__all__ = [
    "ALGORITHMS",
    "CHUNK",
    "DIGEST_RE",
    "DigestMismatch",
    "ObjectInfo",
    "Storage",
    "blob_key",
    "check_digest_syntax",
    "digest_of",
    "digests",
    "get_storage",
    "hasher_for",
    "scratch_dir",
]


@lru_cache(maxsize=4)
def _local(root: str) -> Storage:
    from .local import LocalStorage

    return LocalStorage(Path(root))


@lru_cache(maxsize=4)
def _s3(config, scratch: str) -> Storage:
    from .s3 import S3Storage

    return S3Storage(config, Path(scratch))


def get_storage() -> Storage:
    """The configured driver (one instance per process and configuration)."""
    if settings.QS_STORAGE_BACKEND == "s3":
        from .s3client import S3Config

        return _s3(S3Config.from_settings(), str(settings.QS_SCRATCH_DIR))
    return _local(str(settings.QS_STORAGE_ROOT))


def scratch_dir(name: str) -> Path:
    """A per-host scratch directory: bounded, deletable at any time, never the only copy."""
    path = Path(settings.QS_SCRATCH_DIR) / name
    path.mkdir(parents=True, exist_ok=True)
    return path

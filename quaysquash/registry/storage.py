"""Where blob bytes live. Content-addressed, written atomically, streamed in and out.

The local backend keeps ``<root>/blobs/sha256/<ab>/<hex>``; uploads grow in
``<root>/uploads/`` and are renamed into place once their digest is verified, so a blob path
either holds complete, verified bytes or does not exist. ``QS_STORAGE_BACKEND=s3`` selects
:class:`~quaysquash.registry.s3storage.S3Storage` instead, with the same methods.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from django.conf import settings

from . import digests

if TYPE_CHECKING:
    from .s3storage import S3Storage

DIGEST_RE = digests.DIGEST_RE
CHUNK = 1024 * 1024


class DigestMismatch(Exception):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def check_digest_syntax(digest: str) -> str:
    if not DIGEST_RE.match(digest):
        raise ValueError(f"unsupported or malformed digest {digest!r}")
    return digest


class LocalStorage:
    """Blobs as files under ``<root>/blobs/``; uploads grow under ``<root>/uploads/``."""

    # Blob GETs are answered here, never redirected (S3Storage may redirect).
    redirects = False

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def blob_path(self, digest: str) -> Path:
        check_digest_syntax(digest)
        algo, hexpart = digest.split(":", 1)
        return self.root / "blobs" / algo / hexpart[:2] / hexpart

    @property
    def uploads_dir(self) -> Path:
        path = self.root / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def exists(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.blob_path(digest).stat().st_size

    def open(self, digest: str) -> BinaryIO:
        return open(self.blob_path(digest), "rb")

    def delete(self, digest: str) -> None:
        self.blob_path(digest).unlink(missing_ok=True)

    def commit_file(self, tmp_path: Path, digest: str) -> Path:
        """Move a fully written, verified file into place (atomic rename, same filesystem)."""
        final = self.blob_path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, final)
        return final

    def write_stream(
        self, chunks: Iterable[bytes], expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Write a stream to storage while hashing it; return ``(digest, size)``.

        Nothing becomes visible unless the whole stream arrived and matched ``expected_digest``.
        """
        fd, tmp = tempfile.mkstemp(dir=self.uploads_dir, prefix="ingest-")
        hasher = digests.hasher_for(expected_digest)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = digests.of_hasher(hasher)
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(expected_digest, digest)
            self.commit_file(Path(tmp), digest)
            return digest, size
        finally:
            Path(tmp).unlink(missing_ok=True)

    def write_file(self, fileobj: BinaryIO, expected_digest: str | None = None) -> tuple[str, int]:
        return self.write_stream(iter(lambda: fileobj.read(CHUNK), b""), expected_digest)


@lru_cache(maxsize=1)
def _storage_for(root: str) -> LocalStorage:
    return LocalStorage(Path(root))


@lru_cache(maxsize=4)
def _s3_storage_for(config, root: str) -> S3Storage:
    from .s3storage import S3Storage

    return S3Storage(config, Path(root))


def get_storage() -> LocalStorage | S3Storage:
    """The configured backend: ``QS_STORAGE_BACKEND`` is ``local`` (default) or ``s3``."""
    if settings.QS_STORAGE_BACKEND == "s3":
        from .s3storage import S3Config

        return _s3_storage_for(S3Config.from_settings(), str(settings.QS_STORAGE_ROOT))
    return _storage_for(str(settings.QS_STORAGE_ROOT))

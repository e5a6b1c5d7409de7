"""Registry blobs by digest on top of the storage driver (``blobs/<algo>/<ab>/<hex>``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from . import get_storage
from .base import CHUNK, Storage, blob_key
from .digests import HashedStream, check_digest_syntax


class BlobStore:
    """Content-addressed blobs: a key holds complete bytes whose digest matched, or nothing."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def key(self, digest: str) -> str:
        return blob_key(digest)

    def exists(self, digest: str) -> bool:
        return self.storage.stat(blob_key(digest)) is not None

    def size(self, digest: str) -> int:
        info = self.storage.stat(blob_key(digest))
        if info is None:
            raise FileNotFoundError(digest)
        return info.size

    def open(self, digest: str, offset: int = 0) -> BinaryIO:
        return self.storage.open(blob_key(digest), offset)

    def delete(self, digest: str) -> None:
        self.storage.delete(blob_key(digest))

    def write_stream(
        self, chunks: Iterable[bytes], expected_digest: str | None = None
    ) -> tuple[str, int]:
        """Store a stream; visible only if complete and (when expected) its digest matched.

        Without an expected digest the key is only known at the end: the stream is staged on
        this host first, then committed.
        """
        if expected_digest is not None:
            check_digest_syntax(expected_digest)
            return self.storage.write(blob_key(expected_digest), chunks, expected_digest)
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=self.storage.staging_dir(), prefix="ingest-")
        stream = HashedStream(chunks, None)
        try:
            with os.fdopen(fd, "wb") as out:
                out.writelines(stream)
            digest, size = stream.verified()
            self.storage.commit_file(Path(tmp), blob_key(digest))
            return digest, size
        finally:
            Path(tmp).unlink(missing_ok=True)

    def write_file(self, fileobj: BinaryIO, expected_digest: str | None = None) -> tuple[str, int]:
        return self.write_stream(iter(lambda: fileobj.read(CHUNK), b""), expected_digest)

    def commit_file(self, path: Path, digest: str) -> None:
        """Take over a verified local file as the blob ``digest``."""
        self.storage.commit_file(Path(path), blob_key(digest))


def get_blob_store() -> BlobStore:
    return BlobStore(get_storage())

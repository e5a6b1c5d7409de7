"""Request bodies staged on this host and hashed, as :mod:`quaysquash.registry.asgi` produces
them (or as the upload views make them from a plain request stream)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from quaysquash.storage import CHUNK, digest_of, hasher_for


class HashedBody:
    """A request body written to a named file in the staging area while being hashed.

    Reads like the file Django would have given the view. :meth:`claim` hands the file over
    (the caller commits it into storage); otherwise :meth:`close` deletes it. The digest uses
    the algorithm of the digest the client announced (sha256 when it announced none).
    """

    def __init__(self, directory: Path, expected_digest: str | None = None) -> None:
        fd, path = tempfile.mkstemp(dir=directory, prefix="body-")
        self.path = Path(path)
        self.file = os.fdopen(fd, "w+b")
        self.hasher = hasher_for(expected_digest)
        self.size = 0
        self.claimed = False
        self.consumed = False

    @classmethod
    def from_reader(
        cls, directory: Path, read: Callable[[int], bytes], expected: str | None = None
    ) -> HashedBody:
        body = cls(directory, expected)
        try:
            while chunk := read(CHUNK):
                body.write(chunk)
        except BaseException:
            body.close()
            raise
        return body

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hasher.update(data)
        self.size += len(data)

    @property
    def digest(self) -> str:
        return digest_of(self.hasher)

    @property
    def untouched(self) -> bool:
        return not self.claimed and not self.consumed

    def claim(self, sync: bool = True) -> Path:
        """Take over the file (flushed, synced unless told otherwise): the caller must commit
        or delete it."""
        self.file.flush()
        if sync:
            os.fsync(self.file.fileno())
        self.file.close()
        self.claimed = True
        return self.path

    # The file protocol Django's request uses.
    def read(self, size: int = -1) -> bytes:
        self.consumed = True
        return self.file.read(size)

    def readline(self, size: int = -1) -> bytes:
        self.consumed = True
        return self.file.readline(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()
        if not self.claimed:
            self.path.unlink(missing_ok=True)


def hashed_body(request) -> HashedBody | None:
    """The request's body as a :class:`HashedBody` nobody has read yet, else ``None``."""
    body = getattr(request, "_stream", None)
    if isinstance(body, HashedBody) and body.untouched:
        return body
    return None

"""Request bodies already on disk and hashed, as :mod:`quaysquash.registry.asgi` produces them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class HashedBody:
    """A request body written to a named file in the upload area while being hashed.

    Reads like the file Django would have given the view. :meth:`claim` hands the file over
    (the caller renames it); otherwise :meth:`close` deletes it.
    """

    def __init__(self, directory: Path) -> None:
        fd, path = tempfile.mkstemp(dir=directory, prefix="body-")
        self.path = Path(path)
        self.file = os.fdopen(fd, "w+b")
        self.hasher = hashlib.sha256()
        self.size = 0
        self.claimed = False
        self.consumed = False

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hasher.update(data)
        self.size += len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()

    @property
    def untouched(self) -> bool:
        return not self.claimed and not self.consumed

    def claim(self, sync: bool = True) -> Path:
        """Take over the file (flushed, synced unless told otherwise): the caller must rename
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

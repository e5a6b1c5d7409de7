"""A bounded, per-host read-through cache of layer blobs for the squash workers.

Builds read every layer front to back, some of them many times (a base layer shared by many
images). With a bucket behind the storage, each read would be a full download; this cache keeps
recently read blobs under ``<QS_SCRATCH_DIR>/layers/`` up to ``QS_LAYER_CACHE_MAX_BYTES``,
least recently used first out. A blob enters the cache while it is being read for a build
(the bytes are teed into a temporary file) and only if it was read to the end and its digest
matched, so a cached file is always a verified copy. Deleting the directory at any time loses
nothing but speed. On the local driver the blob is already a local file and is opened directly.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from . import get_storage, scratch_dir
from .base import CHUNK, blob_key
from .digests import check_digest_syntax, digest_of, hasher_for

log = logging.getLogger(__name__)
_trim_lock = threading.Lock()
DRAIN_LIMIT = 4 * 1024 * 1024


def cache_root() -> Path:
    return scratch_dir("layers")


def cached_path(digest: str) -> Path:
    algo, hexpart = check_digest_syntax(digest).split(":", 1)
    return cache_root() / f"{algo}-{hexpart}"


def open_layer(digest: str) -> BinaryIO:
    """A reader of the blob ``digest`` from this host's disk if possible, else from storage
    (filling the cache on the way). FileNotFoundError if the blob does not exist."""
    storage = get_storage()
    key = blob_key(digest)
    local = storage.local_path(key)
    if local is not None:
        return open(local, "rb")
    path = cached_path(digest)
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        pass
    else:
        _touch(path)
        return fh
    source = storage.open(key)
    if settings.QS_LAYER_CACHE_MAX_BYTES <= 0:
        return source
    return io.BufferedReader(_Tee(source, digest, path), buffer_size=CHUNK)  # type: ignore[return-value]


def _touch(path: Path) -> None:
    try:
        os.utime(path)  # the LRU order is the files' mtimes
    except FileNotFoundError:
        pass


def trim(max_bytes: int | None = None) -> int:
    """Delete least recently used files until the cache fits; returns the bytes freed.

    Readers keep their open descriptor of a deleted file, so trimming never breaks a build.
    """
    budget = settings.QS_LAYER_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    with _trim_lock:
        files = []
        for entry in os.scandir(cache_root()):
            if entry.name.startswith("."):
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            files.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in files)
        freed = 0
        for _, size, path in sorted(files):
            if total <= budget:
                break
            Path(path).unlink(missing_ok=True)
            total -= size
            freed += size
        return freed


class _Tee(io.RawIOBase):
    """Reads ``source`` and copies the bytes read in order from 0 into a temporary file.

    A seek back (the engine rewinds after sniffing a gzip header) pauses the copy until the
    reads reach the copied length again; reaching the end with the digest matching moves the
    copy into the cache.
    """

    def __init__(self, source: BinaryIO, digest: str, target: Path) -> None:
        super().__init__()
        self.source = source
        self.digest = digest
        self.target = target
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".fill-")
        self.tmp = Path(tmp)
        self.out = os.fdopen(fd, "wb")
        self.hasher = hasher_for(digest)
        self.pos = 0
        self.copied = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.source.readinto(buffer)
        if n and not self.done and self.pos <= self.copied < self.pos + n:
            fresh = memoryview(buffer)[self.copied - self.pos : n]
            self.out.write(fresh)
            self.hasher.update(fresh)
            self.copied = self.pos + n
        self.pos += n
        if n == 0 and self.pos == self.copied and not self.done:
            self._finish()
        return n

    def _finish(self) -> None:
        self.done = True
        self.out.close()
        if digest_of(self.hasher) != self.digest:
            log.warning("layer %s read from storage does not match its digest", self.digest)
            self.tmp.unlink(missing_ok=True)
            return
        os.replace(self.tmp, self.target)
        trim()

    def _drain(self, limit: int = DRAIN_LIMIT) -> None:
        # Readers often stop at the end of the archive, before the blob's padding: fetch that
        # little rest so the copy can be completed and cached.
        buffer = bytearray(CHUNK)
        while not self.done and limit > 0:
            n = self.readinto(buffer)
            if n == 0:
                break
            limit -= n

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = self.source.seek(offset, whence)
        return self.pos

    def close(self) -> None:
        if not self.closed:
            if not self.done and self.pos == self.copied:
                self._drain()
            if not self.done:
                self.out.close()
                self.tmp.unlink(missing_ok=True)
            self.source.close()
        super().close()

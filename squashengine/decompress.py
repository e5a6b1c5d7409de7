"""Reading a layer blob as an uncompressed tar stream: compression detected by magic bytes
(gzip through ISA-L, zstd through zstandard, else plain tar), optional sha256 of the blob bytes,
and a buffered reader with exact reads, skips and chunked copies that tracks the stream offset."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

import zstandard
from isal import igzip, isal_zlib

from .errors import (
    BlobUnavailableError,
    DigestMismatchError,
    LayerCorruptError,
    LayerMissingError,
    LimitExceededError,
)
from .limits import Limits

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20

# Everything a decompressor or a failing blob reader may raise for bad input.
DECODE_ERRORS = (
    EOFError,
    OSError,
    ValueError,
    zlib.error,
    isal_zlib.error,
    zstandard.ZstdError,
)


def detect_compression(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _BlobReader:
    """The raw blob: replays the sniffed prefix, hashes what passes through when asked."""

    def __init__(self, raw: BinaryIO, prefix: bytes, hasher, digest: str = "") -> None:
        self._raw = raw
        self._digest = digest
        self._prefix = prefix
        self._hasher = hasher
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._prefix:
            if n is None or n < 0:
                data = self._prefix + self._raw.read()
                self._prefix = b""
            else:
                data = self._prefix[:n]
                self._prefix = self._prefix[n:]
                if len(data) < n:
                    data += self._read_raw(n - len(data))
        else:
            data = self._read_raw(n)
        if self._hasher is not None:
            self._hasher.update(data)
        self.size += len(data)
        return data

    def _read_raw(self, n: int) -> bytes:
        # A failing read of the storage is not a corrupt layer: it is raised as its own error
        # (not an OSError), so the decompressors let it through unchanged.
        try:
            return self._raw.read(n)
        except OSError as exc:
            raise BlobUnavailableError(self._digest, f"{type(exc).__name__}: {exc}") from exc

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _ZstdReader:
    """zstd frames one after another, with bounded output per read, failing on a truncated
    frame (python-zstandard's stream_reader ends silently there)."""

    def __init__(self, blob: _BlobReader) -> None:
        self._blob = blob
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._pending = b""  # compressed input not yet fed
        self._in_frame = False
        self._step = 64 << 10
        self._done = False

    def read(self, n: int) -> bytes:
        while not self._done:
            if not self._pending:
                self._pending = self._blob.read(CHUNK)
                if not self._pending:
                    if self._in_frame:
                        raise EOFError("zstd stream ends inside a frame")
                    self._done = True
                    return b""
            feed, self._pending = self._pending[: self._step], self._pending[self._step :]
            self._in_frame = True
            out = self._obj.decompress(feed)
            if self._obj.eof:
                self._pending = self._obj.unused_data + self._pending
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
            # Keep each output near 4 MiB even for data that compresses extremely well.
            if out:
                ratio = max(1, len(out) // max(len(feed), 1))
                self._step = max(512, min(256 << 10, (4 << 20) // ratio))
                return out
        return b""

    def close(self) -> None:
        pass


class LayerStream:
    """Uncompressed bytes of one layer with exact-offset reads. ``pos`` is the offset in the
    uncompressed tar. Errors of the decompressor or blob become LayerCorruptError(digest)."""

    def __init__(
        self,
        open_blob: Callable[[], BinaryIO],
        digest: str,
        *,
        verify_digest: bool = False,
        hash_uncompressed: bool = False,
        limits: Limits | None = None,
    ) -> None:
        self.digest = digest
        try:
            self._raw = open_blob()
            head = self._raw.read(4)
        except FileNotFoundError as exc:
            raise LayerMissingError(digest) from exc
        except OSError as exc:
            # strerror only: str(exc) names the file, which users must not see.
            raise BlobUnavailableError(digest, exc.strerror or "I/O error") from exc
        self.compression = detect_compression(head)
        self._blob_hasher = hashlib.sha256() if verify_digest else None
        self._blob = _BlobReader(self._raw, head, self._blob_hasher, digest)
        # The inflation bound is checked on the bytes that came out so far against those that
        # went in so far: a bomb is stopped after its grace allowance, not at its end.
        self._limits = limits if limits is not None and self.compression != "none" else None
        self._inflated = 0
        if self.compression == "gzip":
            source = self._blob
            if not verify_digest and _is_os_file(self._raw) and _rewinds(self._raw):
                # No Python layer between ISA-L and a local file. Other readers (a bucket's)
                # keep the wrapper: their read errors must stay storage errors, not corruption.
                source = self._raw
            self._dec = igzip.GzipFile(fileobj=source, mode="rb")
        elif self.compression == "zstd":
            self._dec = _ZstdReader(self._blob)
        else:
            self._dec = self._blob
        self._tar_hasher = hashlib.sha256() if hash_uncompressed else None
        self._buf = b""
        self._bufpos = 0
        self.pos = 0
        self._eof = False

    # -- low level -------------------------------------------------------------------------
    def _fill(self, want: int = CHUNK) -> bytes:
        """Next chunk of decompressed data (up to ``want`` bytes), b"" at the end."""
        if self._eof:
            return b""
        try:
            data = self._dec.read(max(want, 1))
        except DECODE_ERRORS as exc:
            raise LayerCorruptError(self.digest, _describe(exc)) from exc
        if not data:
            self._eof = True
            return b""
        if self._limits is not None:
            self._inflated += len(data)
            self._check_inflation()
        if self._tar_hasher is not None:
            self._tar_hasher.update(data)
        return data

    def _check_inflation(self) -> None:
        limits = self._limits
        if self._inflated <= limits.inflation_grace_bytes:
            return
        if self._inflated > limits.max_inflation_ratio * max(self._blob.size, 1):
            raise LimitExceededError(
                f"layer {self.digest}",
                f"max_inflation_ratio={limits.max_inflation_ratio}",
                f"inflates more than {limits.max_inflation_ratio}-fold "
                f"({self._blob.size} compressed bytes gave {self._inflated} so far)",
            )

    def _truncated(self) -> LayerCorruptError:
        return LayerCorruptError(self.digest, f"truncated tar stream at offset {self.pos}")

    # -- reads -----------------------------------------------------------------------------
    def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` bytes; LayerCorruptError if the stream ends first."""
        avail = len(self._buf) - self._bufpos
        if avail >= n:
            data = self._buf[self._bufpos : self._bufpos + n]
            self._bufpos += n
            self.pos += n
            return data
        parts = [self._buf[self._bufpos :]]
        need = n - avail
        self._buf = b""
        self._bufpos = 0
        while need > 0:
            chunk = self._fill(max(CHUNK, need))
            if not chunk:
                self.pos += n - need
                raise self._truncated()
            if len(chunk) > need:
                parts.append(chunk[:need])
                self._buf = chunk
                self._bufpos = need
                need = 0
            else:
                parts.append(chunk)
                need -= len(chunk)
        self.pos += n
        return b"".join(parts)

    def read_block_or_eof(self) -> bytes:
        """One 512-byte block, or b"" at a clean end of stream."""
        if len(self._buf) - self._bufpos >= 512:
            data = self._buf[self._bufpos : self._bufpos + 512]
            self._bufpos += 512
            self.pos += 512
            return data
        if self._bufpos == len(self._buf):
            chunk = self._fill()
            if not chunk:
                return b""
            self._buf = chunk
            self._bufpos = 0
            if len(chunk) >= 512:
                return self.read_block_or_eof()
        return self.read_exact(512)

    def chunks(self, n: int) -> Iterator[bytes | memoryview]:
        """The next ``n`` bytes as a sequence of chunks: bytes or read-only views of immutable
        bytes, so they stay valid after the stream moves on (no copies)."""
        avail = len(self._buf) - self._bufpos
        if avail:
            take = min(avail, n)
            if take == len(self._buf):
                yield self._buf
            else:
                yield memoryview(self._buf)[self._bufpos : self._bufpos + take]
            self._bufpos += take
            self.pos += take
            n -= take
        while n > 0:
            chunk = self._fill(CHUNK)
            if not chunk:
                raise self._truncated()
            if len(chunk) > n:
                self._buf = chunk
                self._bufpos = n
                self.pos += n
                yield memoryview(chunk)[:n]
                return
            self._buf = b""
            self._bufpos = 0
            self.pos += len(chunk)
            n -= len(chunk)
            yield chunk

    def skip(self, n: int) -> None:
        if n <= len(self._buf) - self._bufpos:  # the common case: within the buffer
            self._bufpos += n
            self.pos += n
            return
        for _chunk in self.chunks(n):  # once per CHUNK read: the generator costs nothing here
            pass

    def skip_to(self, offset: int) -> None:
        if offset < self.pos:
            raise ValueError("cannot seek backwards in a layer stream")
        if offset > self.pos:
            self.skip(offset - self.pos)

    def drain(self) -> int:
        """Read to the end of the uncompressed stream (and of the blob); return its length."""
        self.pos += len(self._buf) - self._bufpos
        self._buf = b""
        self._bufpos = 0
        while True:
            chunk = self._fill()
            if not chunk:
                break
            self.pos += len(chunk)
        try:
            self._blob.drain()
        except DECODE_ERRORS as exc:
            raise LayerCorruptError(self.digest, _describe(exc)) from exc
        return self.pos

    # -- results ---------------------------------------------------------------------------
    @property
    def compressed_size(self) -> int:
        return self._blob.size

    def diff_id(self) -> str:
        assert self._tar_hasher is not None
        return "sha256:" + self._tar_hasher.hexdigest()

    def verify(self) -> None:
        """After drain(): the blob's sha256 must equal the digest (when verify_digest)."""
        if self._blob_hasher is None:
            return
        actual = "sha256:" + self._blob_hasher.hexdigest()
        if actual != self.digest:
            raise DigestMismatchError(self.digest, actual)

    def close(self) -> None:
        for obj in (self._dec, self._raw):
            try:
                obj.close()
            except Exception:
                pass

    def __enter__(self) -> LayerStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_os_file(raw) -> bool:
    try:
        raw.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _rewinds(raw) -> bool:
    try:
        if raw.seekable():
            raw.seek(0)
            return True
    except (AttributeError, OSError, ValueError):
        pass
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return f"compressed stream ends early ({exc})"
    return f"{type(exc).__name__}: {exc}"

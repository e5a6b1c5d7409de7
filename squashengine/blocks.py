"""Compression whose output depends on the bytes alone, not on how they were handed over.

ISA-L's streaming deflate emits different (equally valid) output for the same data cut into
different pieces, and the pieces the streamer produces follow the decompressor's read sizes,
which vary with where a layer is read from (local cache, bucket). A squashed image pulled from
the registry must be byte-identical on every build, since its digest is its name: so the
compressor is always fed blocks of exactly ``BLOCK`` bytes (the last one shorter).

The gzip header ISA-L writes carries no name and mtime 0; levels are fixed below and zstd runs
single-threaded, so the same input gives the same output on every worker running the same
library versions.
"""

from __future__ import annotations

import zstandard
from isal import isal_zlib

BLOCK = 1 << 20
GZIP_LEVEL = 1  # ISA-L's levels are 0-3; 1 is its fast default, close to zlib -6 in size
ZSTD_LEVEL = 3


class FixedBlocks:
    """Wraps a ``compress``/``flush`` compressor object and feeds it fixed-size blocks."""

    def __init__(self, compressor, block: int = BLOCK) -> None:
        self.compressor = compressor
        self.block = block
        self.pending = bytearray()

    def compress(self, data) -> bytes:
        pending = self.pending
        block = self.block
        if not pending and len(data) == block:
            return self.compressor.compress(data)
        pending += data
        if len(pending) < block:
            return b""
        out = []
        view = memoryview(pending)
        whole = len(pending) - len(pending) % block
        for at in range(0, whole, block):
            out.append(self.compressor.compress(view[at : at + block]))
        view.release()
        del pending[:whole]
        return b"".join(out)

    def flush(self) -> bytes:
        head = self.compressor.compress(bytes(self.pending)) if self.pending else b""
        self.pending = bytearray()
        return head + self.compressor.flush()


def compressor(compression: str) -> FixedBlocks | None:
    """A deterministic compressor object for ``gzip`` or ``zstd``; None for ``none``."""
    if compression == "gzip":
        return FixedBlocks(isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31))
    if compression == "zstd":
        # threads=0: one frame compressed in the calling thread, never split into jobs.
        return FixedBlocks(zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0).compressobj())
    return None

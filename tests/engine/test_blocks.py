"""Deterministic compression: the squashed layer's bytes depend on its content alone."""

from __future__ import annotations

import gzip
import hashlib
import io
import random

import pytest
import zstandard

from squashengine import LayerInput, index_layer, plan_squash, stream, write_squash
from squashengine.blocks import BLOCK, compressor

from .layerkit import E, config_for, digest_of, layer

rng = random.Random(11)
DATA = rng.randbytes(BLOCK + 12345) + bytes(2 * BLOCK) + b"squash" * 100_000


def compressed(compression: str, data: bytes, piece: int) -> bytes:
    comp = compressor(compression)
    out = [comp.compress(data[at : at + piece]) for at in range(0, len(data), piece)]
    return b"".join(out) + comp.flush()


def unpack(compression: str, blob: bytes) -> bytes:
    if compression == "gzip":
        return gzip.decompress(blob)
    return zstandard.ZstdDecompressor().decompressobj().decompress(blob)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_it_compresses_alike_however_the_input_is_cut(compression):
    outs = {compressed(compression, DATA, piece) for piece in (BLOCK, 65536, 4097, 3 * BLOCK)}
    assert len(outs) == 1
    (blob,) = outs
    assert unpack(compression, blob) == DATA


def test_it_writes_a_gzip_header_without_name_or_time():
    blob = compressed("gzip", b"x" * 1000, 1000)
    assert blob[:3] == b"\x1f\x8b\x08" and blob[3] & 0x08 == 0  # deflate, no FNAME
    assert blob[4:8] == b"\0\0\0\0"  # mtime 0


class ShortReads(io.RawIOBase):
    """A blob reader handing out at most ``most`` bytes per read, like a slow bucket."""

    def __init__(self, data: bytes, most: int) -> None:
        self.data, self.most, self.at = data, most, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.most, len(self.data) - self.at)
        buffer[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_it_squashes_to_the_same_bytes_whatever_the_reads_and_batches(compression, monkeypatch):
    blobs = [
        layer(E("a", "dir"), E("a/big", data=DATA), compression="gzip"),
        layer(E("a", "dir"), E("a/small", data=b"two"), compression="zstd"),
    ]
    outs = set()
    for most, batch in ((1 << 20, 1 << 20), (7000, 300_000), (100_003, 3 << 20)):
        # How the streamer batches its hand-overs to the compressing thread.
        monkeypatch.setattr(stream, "BATCH", batch)
        layers = []
        for blob in blobs:

            def opener(blob=blob, most=most):
                return io.BufferedReader(ShortReads(blob, most), buffer_size=most)

            layers.append(LayerInput(digest_of(blob), opener, index_layer(opener, digest_of(blob))))
        plan = plan_squash(layers, config_for(layers), format="rootfs", compression=compression)
        out = io.BytesIO()
        result = write_squash(plan, out)
        assert result.sha256 == "sha256:" + hashlib.sha256(out.getvalue()).hexdigest()
        outs.add(out.getvalue())
    assert len(outs) == 1

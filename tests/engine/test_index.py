"""Layer indexing: offsets, diff_id, compression detection, serialization, and the errors that
must name the layer (digest mismatch, corruption, truncation)."""

from __future__ import annotations

import hashlib
import io

import pytest

from squashengine import (
    DigestMismatchError,
    LayerCorruptError,
    LayerIndex,
    index_layer,
    plan_squash,
    write_squash,
)
from squashengine import tarformat as tf

from .layerkit import E, compress, config_for, decompress, digest_of, inputs, layer


def index_of(blob: bytes, digest: str | None = None) -> LayerIndex:
    return index_layer(lambda: io.BytesIO(blob), digest or digest_of(blob))


SAMPLE = [
    E("d", "dir"),
    E("d/f", data=b"hello" * 300),
    E("d/" + "x" * 200, data=b"long name"),
    E("d/s", "symlink", link="f"),
    E("d/h", "hardlink", link="d/f"),
    E("d/.wh.gone"),
    E("d/.wh..wh..opq"),
]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_it_records_offsets_of_headers_and_data_in_the_uncompressed_stream(compression):
    blob = layer(*SAMPLE, compression=compression)
    idx = index_of(blob)
    raw = decompress(blob)
    assert idx.compression == compression
    assert idx.tar_size == len(raw)
    assert idx.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert idx.blob_size == len(blob)
    assert [bytes(p) for p in idx.paths] == [
        b"d",
        b"d/f",
        b"d/" + b"x" * 200,
        b"d/s",
        b"d/h",
        b"d/gone",
        b"d",
    ]
    assert bytes(idx.kinds) == b"50021WO"
    f = 1
    meta = tf.parse_header_chain(
        raw[idx.header_offsets[f] : idx.header_offsets[f] + idx.header_lengths[f]]
    )
    assert meta.name == b"d/f"
    start = idx.header_offsets[f] + idx.header_lengths[f]
    assert raw[start : start + idx.data_lengths[f]] == b"hello" * 300
    long_entry = 2
    assert idx.header_lengths[long_entry] > 512  # the PAX header is part of the entry
    assert idx.links[3] == b"f" and idx.links[4] == b"d/f"
    assert 4 in idx.headers and 1 in idx.headers  # the link and its target keep their headers


def test_it_serializes_the_index_compactly_and_reads_it_back():
    idx = index_of(layer(*SAMPLE, compression="gzip"))
    data = idx.to_bytes()
    back = LayerIndex.from_bytes(data)
    for name in LayerIndex.__slots__:
        assert getattr(back, name) == getattr(idx, name), name
    assert len(data) < 2000
    with pytest.raises(ValueError, match="version"):
        LayerIndex.from_bytes(data[:4] + b"\x63\x00" + data[6:])


def test_it_fails_on_a_digest_mismatch_and_names_the_layer():
    blob = layer(E("a", data=b"1"), compression="gzip")
    wrong = "sha256:" + "1" * 64
    with pytest.raises(DigestMismatchError) as err:
        index_of(blob, wrong)
    assert wrong in str(err.value) and digest_of(blob) in str(err.value)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_it_fails_on_a_truncated_layer_and_names_it(compression):
    blob = layer(E("a", data=bytes(range(256)) * 400), compression=compression)
    cut = blob[: len(blob) // 2]
    with pytest.raises(LayerCorruptError) as err:
        index_of(cut)
    assert digest_of(cut) in str(err.value)


def test_it_fails_on_a_corrupt_gzip_layer_and_names_it():
    blob = bytearray(layer(E("a", data=bytes(range(256)) * 400), compression="gzip"))
    blob[len(blob) // 2] ^= 0xFF
    blob = bytes(blob)
    with pytest.raises(LayerCorruptError) as err:
        index_of(blob)
    assert digest_of(blob) in str(err.value)


def test_it_fails_on_a_bad_header_checksum():
    raw = bytearray(layer(E("a", data=b"1")))
    raw[0] = ord("b")
    with pytest.raises(LayerCorruptError, match="checksum"):
        index_of(bytes(raw))


def test_it_accepts_a_layer_without_the_end_of_archive_marker():
    raw = layer(E("a", data=b"1"), E("b", data=b"2"))
    trimmed = raw[: 4 * 512]
    idx = index_of(trimmed)
    assert idx.paths == [b"a", b"b"]


def test_it_fails_the_squash_when_a_blob_changed_after_indexing():
    blob = layer(E("a", data=bytes(range(256)) * 400), E("b", data=b"x"), compression="gzip")
    [good] = inputs([blob])
    truncated = blob[: len(blob) - 20]
    good.open_blob = lambda: io.BytesIO(truncated)
    plan = plan_squash([good], config_for([good]), format="rootfs")
    with pytest.raises(LayerCorruptError) as err:
        write_squash(plan, io.BytesIO())
    assert good.digest in str(err.value)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_it_reads_layers_made_of_several_compressed_members(compression):
    raw = layer(E("a", data=b"1" * 3000), E("b", data=b"2" * 3000))
    blob = compress(raw[:2048], compression) + compress(raw[2048:], compression)
    idx = index_of(blob)
    assert idx.paths == [b"a", b"b"] and idx.tar_size == len(raw)
    assert idx.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()

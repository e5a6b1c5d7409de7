"""Limits (squashengine.limits): every bound refuses with a LimitExceededError naming the limit,
before the work it protects."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from squashengine import (
    LayerCorruptError,
    LimitExceededError,
    Limits,
    index_layer,
    plan_squash,
)

from . import bombs
from .layerkit import E, config_for, digest_of, inputs, layer

SMALL = Limits(
    max_header_bytes=8192,
    max_entries=10,
    max_path_bytes=64,
    max_output_bytes=1 << 20,
    max_inflation_ratio=10,
    inflation_grace_bytes=64 << 10,
)


def index(blob: bytes, limits: Limits = SMALL):
    return index_layer(lambda: io.BytesIO(blob), digest_of(blob), limits)


class Counting(io.BytesIO):
    """A blob that counts how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        self.taken += len(data)
        return data


def test_it_has_safe_defaults_like_go_archive_tar():
    limits = Limits()
    assert limits.max_header_bytes == 1 << 20  # Go's maxSpecialFileSize
    assert limits.max_path_bytes == 4096
    assert limits.max_output_bytes == 64 << 30 and limits.max_inflation_ratio == 100


def test_it_refuses_a_pax_header_by_its_declared_size_before_reading_it():
    blob = layer(E("f", pax={"comment": "c" * 9000}))
    with pytest.raises(LimitExceededError, match="max_header_bytes=8192"):
        index(blob)
    index(blob, Limits())  # under the default it is a normal entry
    # A 100 MiB PAX record: refused after reading its 512-byte header, not its 100 MiB.
    raw = bombs._header(b"././@PaxHeader", 100 << 20, b"x") + b"100 path=" + bytes(600)
    blob = Counting(raw)
    with pytest.raises(LimitExceededError, match="extension headers of"):
        index_layer(lambda: blob, digest_of(raw), SMALL)
    assert blob.taken < 64 << 10


def test_it_refuses_a_gnu_long_name_over_the_header_limit():
    blob = layer(E("d/" + "n" * 9000, data=b"x"), fmt=tarfile.GNU_FORMAT)
    with pytest.raises(LimitExceededError, match="max_header_bytes"):
        index(blob, Limits(max_header_bytes=8192, max_path_bytes=1 << 20))


def test_it_refuses_a_pax_sparse_map_longer_than_the_header_limit():
    segments = 2000
    sparse_map = b"%d\n" % segments + b"".join(b"%d\n1\n" % (2 * k) for k in range(segments))
    padded = sparse_map + bytes(-len(sparse_map) % 512)
    pax = b"".join(
        bombs.tf.encode_pax_record(k, v)
        for k, v in (
            (b"GNU.sparse.major", b"1"),
            (b"GNU.sparse.minor", b"0"),
            (b"GNU.sparse.name", b"s"),
            (b"GNU.sparse.realsize", b"4000"),
        )
    )
    raw = bombs._header(b"././@PaxHeader", len(pax), b"x") + pax + bytes(-len(pax) % 512)
    raw += bombs._header(b"GNUSparseFile.0/s", len(padded) + 512) + padded + bytes(512)
    raw += bytes(1024)
    with pytest.raises(LimitExceededError, match="sparse map longer"):
        index(raw)
    assert len(index(raw, Limits())) == 1


def test_it_refuses_too_many_entries_in_a_layer():
    blob = layer(*[E(f"f{i}") for i in range(11)])
    with pytest.raises(LimitExceededError, match="more than 10 entries"):
        index(blob)
    small = layer(*[E(f"f{i}") for i in range(11)])
    layers = inputs([small])  # indexed under the defaults, planned under a lower limit
    with pytest.raises(LimitExceededError, match="max_entries=10"):
        plan_squash(layers, config_for(layers), limits=SMALL)


def test_it_refuses_a_long_path_or_link_target():
    with pytest.raises(LimitExceededError, match="max_path_bytes=64"):
        index(layer(E("d/" + "p" * 70)))
    with pytest.raises(LimitExceededError, match="max_path_bytes=64"):
        index(layer(E("s", "symlink", link="/" + "t" * 70)))


def test_it_refuses_an_entry_declaring_more_than_the_output_limit():
    raw = bombs._header(b"huge", 1 << 40) + b"short"
    with pytest.raises(LimitExceededError, match="declares 1099511627776 bytes"):
        index(gzip.compress(raw))


def test_it_reports_a_truncated_body_under_the_limit_as_a_corrupt_layer():
    raw = bombs._header(b"big", 900 << 10) + b"0123456789"
    with pytest.raises(LayerCorruptError, match="truncated"):
        index(gzip.compress(raw))


@pytest.mark.parametrize("make", [bombs.gnu_sparse_gzip, bombs.pax_sparse_gzip])
def test_it_refuses_a_sparse_file_declaring_a_terabyte(tmp_path, make):
    bomb = make(tmp_path / "sparse")
    assert bomb.path.stat().st_size < 300
    with pytest.raises(LimitExceededError, match="sparse file declares 1099511627776"):
        index_layer(lambda: open(bomb.path, "rb"), bomb.digest)


def test_it_refuses_a_bomb_once_past_the_grace_without_inflating_it_all():
    raw = bombs._header(b"zeros", 8 << 20) + bytes(8 << 20) + bytes(1024)
    blob = gzip.compress(raw)  # ~1000-fold
    reader = Counting(blob)
    with pytest.raises(LimitExceededError, match="inflates more than 10-fold"):
        index_layer(lambda: reader, digest_of(blob), SMALL)
    # Harmless below the grace, and under the default ratio's grace (1 GiB).
    index(gzip.compress(bombs._header(b"z", 32 << 10) + bytes(32 << 10) + bytes(1024)))
    assert len(index_layer(lambda: io.BytesIO(blob), digest_of(blob))) == 1


def test_it_refuses_a_plan_larger_than_the_output_limit_before_any_byte():
    blobs = [layer(E("a", data=b"a" * 600_000)), layer(E("b", data=b"b" * 600_000))]
    layers = inputs(blobs)
    with pytest.raises(LimitExceededError, match="the squash: .* bytes would be written"):
        plan_squash(layers, config_for(layers), limits=SMALL)
    plan = plan_squash(layers, config_for(layers), compression="gzip")
    assert plan.size is None and plan.planned_bytes > 1_200_000

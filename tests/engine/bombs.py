"""Hostile layer blobs, generated streaming into files (never whole in memory): a gzip of 20 GiB of
zeros, a 1 GiB PAX record, sparse and truncated files declaring 1 TiB.

A gzip stream may hold many members, decompressed one after another (RFC 1952; Go, ISA-L and
zlib all read them): one member of a 64 MiB run is compressed once and written again and again,
so a 20 GiB layer costs about 20 MB of disk, a 16 MiB buffer and a second to make.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from squashengine import tarformat as tf
from squashengine.layoutwriter import OCI_LAYER_GZIP, LayoutWriter, image_config

GiB = 1 << 30
TiB = 1 << 40
RUN = 16 << 20  # one run, compressed once: the only big buffer the generators hold


@dataclass
class Bomb:
    path: Path  # the layer blob
    digest: str  # sha256 of the blob
    diff_id: str  # what the config claims (the real one would take minutes to hash)


class _Out:
    """A file that hashes what is written to it."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.file.write(data)

    def close(self) -> str:
        self.file.close()
        return "sha256:" + self.hash.hexdigest()


def _member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _repeat(out: _Out, byte: bytes, count: int) -> None:
    """``count`` copies of ``byte`` as gzip members (one member compressed once, reused)."""
    whole = _member(byte * RUN)
    for _ in range(count // RUN):
        out.write(whole)
    if count % RUN:
        out.write(_member(byte * (count % RUN)))


def _header(name: bytes, size: int, typeflag: bytes = b"0") -> bytes:
    meta = tf.TarMeta(name=name, typeflag=typeflag, size=size, mode=0o644, mtime=1_700_000_000)
    return tf.encode_header(meta)


def _fake_diff_id(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def zeros_gzip(path: Path, size: int = 20 * GiB) -> Bomb:
    """One regular file of ``size`` zero bytes, gzip: ~1 KiB per MiB (20 GiB → ~20 MiB)."""
    out = _Out(path)
    out.write(_member(_header(b"zeros", size)))
    _repeat(out, b"\0", tf.padded(size) + 1024)  # data, padding, end-of-archive
    return Bomb(path, out.close(), _fake_diff_id(f"zeros {size}"))


def pax_record_gzip(path: Path, size: int = GiB) -> Bomb:
    """A PAX header holding one ``size``-byte record (``path=aaaa…``), then a tiny file."""
    out = _Out(path)
    prefix = b"%d path=" % size
    assert len(prefix) + 1 < size
    out.write(_member(_header(b"././@PaxHeader", size, b"x") + prefix))
    _repeat(out, b"a", size - len(prefix) - 1)
    out.write(_member(b"\n" + bytes(tf.padded(size) - size)))
    out.write(_member(_header(b"after", 1) + b"x" + bytes(511) + bytes(1024)))
    return Bomb(path, out.close(), _fake_diff_id(f"pax {size}"))


def gnu_sparse_gzip(path: Path, real_size: int = TiB) -> Bomb:
    """An old-GNU sparse file (typeflag ``S``) of ``real_size`` bytes, all hole: ~250 bytes."""
    block = bytearray(_header(b"sparse", 0, b"S"))
    block[386:398] = tf.format_number(real_size, 12)  # one segment: at the end, empty
    block[398:410] = tf.format_number(0, 12)
    block[482] = 0  # no extension blocks
    block[483:495] = tf.format_number(real_size, 12)
    block[148:156] = b"        "
    block[148:156] = b"%06o\0 " % sum(block)
    data = gzip.compress(bytes(block) + bytes(1024), mtime=0)
    path.write_bytes(data)
    return Bomb(path, "sha256:" + hashlib.sha256(data).hexdigest(), _fake_diff_id("sparse"))


def pax_sparse_gzip(path: Path, real_size: int = TiB) -> Bomb:
    """A PAX sparse 1.0 file of ``real_size`` bytes, all hole (the map is the only data)."""
    sparse_map = b"1\n%d\n0\n" % real_size
    sparse_map += bytes(512 - len(sparse_map))
    pax = b"".join(
        tf.encode_pax_record(k, v)
        for k, v in (
            (b"GNU.sparse.major", b"1"),
            (b"GNU.sparse.minor", b"0"),
            (b"GNU.sparse.name", b"sparse"),
            (b"GNU.sparse.realsize", str(real_size).encode()),
        )
    )
    raw = _header(b"././@PaxHeader", len(pax), b"x") + pax + bytes(tf.padded(len(pax)) - len(pax))
    raw += _header(b"GNUSparseFile.0/sparse", len(sparse_map)) + sparse_map + bytes(1024)
    data = gzip.compress(raw, mtime=0)
    path.write_bytes(data)
    return Bomb(path, "sha256:" + hashlib.sha256(data).hexdigest(), _fake_diff_id("pax sparse"))


def short_body_gzip(path: Path, declared: int) -> Bomb:
    """A regular file whose header declares ``declared`` bytes, followed by 10 bytes only."""
    data = gzip.compress(_header(b"huge", declared) + b"0123456789", mtime=0)
    path.write_bytes(data)
    return Bomb(path, "sha256:" + hashlib.sha256(data).hexdigest(), _fake_diff_id("short"))


def oci_layout(root: Path, bomb: Bomb) -> Path:
    """An OCI image layout of one image whose only layer is ``bomb`` (hardlinked, not copied)."""
    writer = LayoutWriter(root)
    layer = writer.link(bomb.path, bomb.digest, OCI_LAYER_GZIP)
    config = image_config([bomb.diff_id], history=[{"created_by": "bomb"}])
    return writer.finish({"latest": writer.manifest(config, [layer])})

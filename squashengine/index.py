"""Layer index: one streaming pass over a layer blob records, for every tar entry, its cleaned path,
kind, link target and the offsets/lengths of its header and data in the uncompressed stream.

The index is all the planner needs: it never decompresses a layer to decide what survives. Header
bytes are kept only for the entries the planner may emit out of place or rewrite (directories,
hardlinks, sparse files). See docs/engine.md for the serialized format.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

from . import tarformat as tf
from .decompress import LayerStream
from .errors import LayerCorruptError, LimitExceededError, UnsafePathError
from .limits import DEFAULT_LIMITS, Limits
from .packing import pack_blob, pack_strings, pack_u64, unpack_blob, unpack_strings, unpack_u64
from .sparse import gnu_sparse_entries, pax_sparse

MAGIC = b"QSLI"
VERSION = 1

_REG_TYPES = frozenset(b"07\0")


class LayerIndex:
    """Entries of one layer, as parallel lists (entry ``i`` is ``paths[i]``, ``kinds[i]``...)."""

    __slots__ = (
        "digest",
        "diff_id",
        "compression",
        "blob_size",
        "tar_size",
        "kinds",
        "paths",
        "header_offsets",
        "header_lengths",
        "data_lengths",
        "links",
        "headers",
        "sparse",
    )

    def __init__(self, digest: str = "", diff_id: str = "", compression: str = "none") -> None:
        self.digest = digest
        self.diff_id = diff_id
        self.compression = compression
        self.blob_size = 0
        self.tar_size = 0
        self.kinds = bytearray()
        self.paths: list[bytes] = []
        self.header_offsets: list[int] = []
        self.header_lengths: list[int] = []
        self.data_lengths: list[int] = []  # unpadded length of the data region in the stream
        self.links: list[bytes] = []  # cleaned for hardlinks, verbatim for symlinks, else b""
        self.headers: dict[int, bytes] = {}  # raw header chain of dirs, hardlinks, sparse files
        # sparse entry -> (real size, length of the map prefix in the data, [(offset, length)])
        self.sparse: dict[int, tuple[int, int, list[tuple[int, int]]]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"<LayerIndex {self.digest} entries={len(self)} tar_size={self.tar_size}>"

    def entry_end(self, i: int) -> int:
        """Offset just past entry ``i`` (header, data and padding)."""
        return self.header_offsets[i] + self.header_lengths[i] + tf.padded(self.data_lengths[i])

    # -- serialization ---------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        n = len(self.paths)
        meta = "\n".join([self.digest, self.diff_id, self.compression]).encode()
        parts = [
            struct.pack("<QQI", self.blob_size, self.tar_size, n),
            pack_blob(meta),
            bytes(self.kinds),
            pack_u64(self.header_offsets),
            pack_u64(self.header_lengths),
            pack_u64(self.data_lengths),
            pack_strings(self.paths),
            pack_strings(self.links),
            pack_u64(list(self.headers)),
            pack_strings(list(self.headers.values())),
        ]
        sparse = []
        for i, (real, maplen, segments) in self.sparse.items():
            sparse += [i, real, maplen, len(segments)]
            for off, length in segments:
                sparse += [off, length]
        parts.append(pack_u64(sparse))
        body = zlib.compress(b"".join(parts), 6)
        return MAGIC + struct.pack("<H", VERSION) + body

    @classmethod
    def from_bytes(cls, data: bytes) -> LayerIndex:
        if data[:4] != MAGIC:
            raise ValueError("not a layer index")
        (version,) = struct.unpack_from("<H", data, 4)
        if version != VERSION:
            raise ValueError(f"unsupported layer index version {version}")
        body = zlib.decompress(data[6:])
        blob_size, tar_size, n = struct.unpack_from("<QQI", body, 0)
        pos = 20
        meta, pos = unpack_blob(body, pos)
        self = cls()
        self.digest, self.diff_id, self.compression = meta.decode().split("\n")
        self.blob_size, self.tar_size = blob_size, tar_size
        self.kinds = bytearray(body[pos : pos + n])
        pos += n
        self.header_offsets, pos = unpack_u64(body, pos)
        self.header_lengths, pos = unpack_u64(body, pos)
        self.data_lengths, pos = unpack_u64(body, pos)
        self.paths, pos = unpack_strings(body, pos)
        self.links, pos = unpack_strings(body, pos)
        keys, pos = unpack_u64(body, pos)
        values, pos = unpack_strings(body, pos)
        self.headers = dict(zip(keys, values, strict=True))
        sparse, pos = unpack_u64(body, pos)
        k = 0
        while k < len(sparse):
            i, real, maplen, count = sparse[k : k + 4]
            k += 4
            segs = [(sparse[k + 2 * j], sparse[k + 2 * j + 1]) for j in range(count)]
            k += 2 * count
            self.sparse[i] = (real, maplen, segs)
        return self


# -- indexing ------------------------------------------------------------------------------


def index_layer(
    open_blob: Callable[[], BinaryIO], digest: str, limits: Limits = DEFAULT_LIMITS
) -> LayerIndex:
    """Index one layer blob (gzip, zstd or plain tar) in one pass, verifying its digest.

    Memory and time stay bounded by ``limits`` whatever the blob holds: an extension header is
    refused by its declared size before it is read, a decompression bomb once it inflates past
    the allowed ratio, a huge (sparse or truncated) file by its declared size.
    """
    stream = LayerStream(
        open_blob, digest, verify_digest=True, hash_uncompressed=True, limits=limits
    )
    with stream:
        idx = LayerIndex(digest, compression=stream.compression)
        try:
            try:
                _scan(stream, idx, limits)
            except (ValueError, IndexError, KeyError, OverflowError, struct.error) as exc:
                raise LayerCorruptError(digest, f"malformed tar: {exc}") from exc
            idx.tar_size = stream.drain()
        except (LayerCorruptError, LimitExceededError):
            # A digest mismatch explains a corrupt stream better than the decoder's complaint.
            _check_digest_after_error(stream)
            raise
        stream.verify()
        idx.blob_size = stream.compressed_size
        idx.diff_id = stream.diff_id()
    return idx


def _check_digest_after_error(stream: LayerStream) -> None:
    # Only the compressed bytes are read (no decompression): cheap even for a bomb.
    try:
        stream._blob.drain()
    except Exception:
        return
    stream.verify()


def _corrupt(digest: str, detail: str) -> LayerCorruptError:
    return LayerCorruptError(digest, detail)


def _scan(stream: LayerStream, idx: LayerIndex, limits: Limits) -> None:
    candidates: dict[bytes, tuple[int, list[bytes]]] = {}
    _scan_entries(stream, idx, candidates, limits)


def _too_big(digest: str, limit: str, detail: str) -> LimitExceededError:
    return LimitExceededError(f"layer {digest}", limit, detail)


def _scan_entries(stream, idx, candidates, limits: Limits) -> None:
    digest = idx.digest
    max_header = limits.max_header_bytes
    max_path = limits.max_path_bytes
    max_size = limits.max_output_bytes
    max_entries = limits.max_entries
    kinds = idx.kinds
    paths = idx.paths
    hoffs = idx.header_offsets
    hlens = idx.header_lengths
    dlens = idx.data_lengths
    links = idx.links
    parse_number = tf.parse_number
    checksum_ok = tf.header_checksum_ok
    zero = tf.ZERO_BLOCK
    while True:
        start = stream.pos
        block = stream.read_block_or_eof()
        if not block:
            return  # end of stream without an end-of-archive marker: accepted, like Go's reader
        if block == zero:
            return
        raw_parts = [block]
        longname = longlink = None
        pax: dict[bytes, bytes] = {}
        pax_list: list[tuple[bytes, bytes]] = []
        while True:
            if not checksum_ok(block):
                raise _corrupt(digest, f"bad tar header checksum at offset {stream.pos - 512}")
            typeflag = block[156]
            try:
                size = parse_number(block[124:136])
            except ValueError as exc:
                raise _corrupt(digest, str(exc)) from exc
            if typeflag not in tf.EXTENSIONS:
                break
            # Checked on the declared size, before a byte of it is read.
            ext_bytes = stream.pos - start + tf.padded(size)
            if size < 0 or ext_bytes > max_header:
                raise _too_big(
                    digest,
                    f"max_header_bytes={max_header}",
                    f"extension headers of {ext_bytes} bytes at offset {start}",
                )
            data = stream.read_exact(tf.padded(size))
            raw_parts.append(data)
            data = data[:size]
            if typeflag == 0x78 or typeflag == 0x58:  # 'x' / 'X'
                try:
                    records = tf.parse_pax(data)
                except ValueError as exc:
                    raise _corrupt(digest, f"bad PAX header at offset {start}: {exc}") from exc
                pax_list.extend(records)
                pax.update(records)
            elif typeflag == 0x4C:  # 'L'
                longname = data.rstrip(b"\0")
            elif typeflag == 0x4B:  # 'K'
                longlink = data.rstrip(b"\0")
            # 'g' (global PAX headers) are skipped; see docs/engine.md.
            block = stream.read_exact(512)
            if block == zero:
                raise _corrupt(digest, f"extension header without an entry at offset {start}")
            raw_parts.append(block)

        # name
        if longname is not None:
            name = longname
        else:
            name = block[0:100].split(b"\0", 1)[0]
            if block[257:263] == b"ustar\0":
                prefix = block[345:500].split(b"\0", 1)[0]
                if prefix:
                    name = prefix + b"/" + name
        if b"path" in pax:
            name = pax[b"path"]
        if b"size" in pax:
            try:
                size = int(pax[b"size"])
            except ValueError as exc:
                raise _corrupt(digest, f"bad PAX size at offset {start}") from exc

        sparse_info = None
        if typeflag == 0x53:  # 'S': old GNU sparse, map in the header (+ extension blocks)
            segments = gnu_sparse_entries(block[386:482])
            extended = block[482]
            while extended:
                if stream.pos - start + 512 > max_header:
                    raise _too_big(
                        digest,
                        f"max_header_bytes={max_header}",
                        f"sparse map longer than {max_header} bytes at offset {start}",
                    )
                ext = stream.read_exact(512)
                raw_parts.append(ext)
                segments += gnu_sparse_entries(ext[:504])
                extended = ext[504]
            sparse_info = (parse_number(block[483:495]), 0, segments)
        elif b"GNU.sparse.major" in pax or b"GNU.sparse.map" in pax or b"GNU.sparse.offset" in pax:
            sparse_info = ("pax", pax, pax_list)
            if b"GNU.sparse.name" in pax:
                name = pax[b"GNU.sparse.name"]

        if longlink is not None:
            linkname = longlink
        else:
            linkname = block[157:257].split(b"\0", 1)[0]
        if b"linkpath" in pax:
            linkname = pax[b"linkpath"]

        header_len = stream.pos - start
        if size < 0:
            raise _corrupt(digest, f"negative size at offset {start}")
        data_len = 0 if typeflag in tf.HEADER_ONLY else size

        if data_len > max_size:
            raise _too_big(
                digest,
                f"max_output_bytes={max_size}",
                f"an entry declares {data_len} bytes at offset {start}",
            )
        if sparse_info is not None and sparse_info[0] == "pax":
            sparse_info, maplen = pax_sparse(
                stream, digest, pax, pax_list, data_len, start, max_header
            )
            consumed = maplen
        else:
            consumed = 0
        if sparse_info is not None and sparse_info[0] > max_size:
            raise _too_big(
                digest,
                f"max_output_bytes={max_size}",
                f"a sparse file declares {sparse_info[0]} bytes at offset {start}",
            )
        stream.skip(tf.padded(data_len) - consumed)

        # kind
        if typeflag == 0x35 or (typeflag in (0x30, 0) and name.endswith(b"/")):
            kind = tf.DIR
        elif typeflag == 0x31:
            kind = tf.LNK
        elif typeflag == 0x32:
            kind = tf.SYM
        elif typeflag in (0x33, 0x34, 0x36):
            kind = typeflag
        else:
            kind = tf.REG  # regular, contiguous, sparse, and unknown types (copied verbatim)

        try:
            path = tf.clean_path(name)
        except tf.PathEscapeError:
            raise UnsafePathError(digest, name) from None
        if path == b"" and kind != tf.DIR:
            raise UnsafePathError(digest, name, "names the root but is not a directory")
        if len(path) > max_path or len(linkname) > max_path:
            raise _too_big(
                digest,
                f"max_path_bytes={max_path}",
                f"a name or link target of {max(len(path), len(linkname))} bytes at offset {start}",
            )

        base_start = path.rfind(b"/") + 1
        if b".wh." in path:
            base = path[base_start:]
            parent = path[: max(base_start - 1, 0)]
            if base == tf.WH_OPAQUE:
                if tf.WH_META_PREFIX in parent:
                    continue
                kind, path = tf.OPAQUE, parent
            elif (b"/" + path).find(b"/" + tf.WH_META_PREFIX) >= 0:
                continue  # .wh..wh.plnk and friends (and what is under them): dropped
            elif not base.startswith(tf.WH_PREFIX):
                pass
            else:
                target = base[len(tf.WH_PREFIX) :]
                if target in (b"", b".", b".."):
                    raise UnsafePathError(digest, name, "whiteout names no valid entry")
                kind = tf.WHITEOUT
                path = parent + b"/" + target if parent else target
        link = b""
        if kind == tf.LNK or kind == tf.SYM:
            if kind == tf.LNK:
                try:
                    link = tf.clean_path(linkname)
                except tf.PathEscapeError:
                    raise UnsafePathError(
                        digest, linkname, "hardlink target escapes the root"
                    ) from None
                if link == b"":
                    raise UnsafePathError(digest, linkname, "hardlink to the root")
                found = candidates.get(link)
                if found is not None:  # keep the target's header: the link may need it
                    idx.headers.setdefault(found[0], b"".join(found[1]))
            else:
                link = linkname

        i = len(paths)
        if i >= max_entries:
            limits.check_entries(digest, i + 1)
        kinds.append(kind)
        paths.append(path)
        hoffs.append(start)
        hlens.append(header_len)
        dlens.append(data_len)
        links.append(link)
        if kind == tf.DIR or kind == tf.LNK or sparse_info is not None:
            idx.headers[i] = b"".join(raw_parts)
        elif kind != tf.WHITEOUT and kind != tf.OPAQUE:
            # Possible hardlink target: its header is kept if a link of this layer names it.
            candidates[path] = (i, raw_parts)
        if sparse_info is not None and kind == tf.REG:
            idx.sparse[i] = sparse_info

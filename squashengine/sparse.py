"""GNU sparse maps: the old GNU format (``S`` entries, map in the header and its extension
blocks) and the PAX formats 0.0, 0.1 and 1.0 (map in the records or at the start of the data)."""

from __future__ import annotations

from . import tarformat as tf
from .decompress import LayerStream
from .errors import LayerCorruptError, LimitExceededError


def gnu_sparse_entries(area: bytes) -> list[tuple[int, int]]:
    out = []
    for k in range(0, len(area) - 23, 24):
        off_field = area[k : k + 12]
        len_field = area[k + 12 : k + 24]
        if not off_field.strip(b"\0 ") and not len_field.strip(b"\0 "):
            break
        out.append((tf.parse_number(off_field), tf.parse_number(len_field)))
    return out


def pax_sparse(stream: LayerStream, digest, pax, pax_list, data_len, start, max_header):
    """Sparse map of a PAX sparse entry (0.0, 0.1, 1.0); returns (info, map bytes consumed)."""
    try:
        major = pax.get(b"GNU.sparse.major")
        if major == b"1":
            real = int(pax[b"GNU.sparse.realsize"])
            # The map is at the start of the data: decimal numbers, one per line, block padded.
            # It is read a block at a time, up to max_header bytes; lines are counted as they
            # come so that a long map costs linear time.
            blocks: list[bytes] = []
            consumed = 0
            lines = 0
            count = None
            while True:
                if consumed >= data_len:
                    raise ValueError("sparse map runs past the data")
                if consumed + 512 > max_header:
                    raise LimitExceededError(
                        f"layer {digest}",
                        f"max_header_bytes={max_header}",
                        f"sparse map longer than {max_header} bytes at offset {start}",
                    )
                block = stream.read_exact(512)
                blocks.append(block)
                consumed += 512
                lines += block.count(b"\n")
                if count is None and lines:
                    count = int(b"".join(blocks).split(b"\n", 1)[0])
                if count is not None and lines >= 1 + 2 * count:
                    break
            numbers = [int(x) for x in b"".join(blocks).split(b"\n")[: 1 + 2 * count]]
            segments = [(numbers[1 + 2 * j], numbers[2 + 2 * j]) for j in range(count)]
            return (real, consumed, segments), consumed
        real = int(pax.get(b"GNU.sparse.size", pax.get(b"GNU.sparse.realsize", b"0")))
        if b"GNU.sparse.map" in pax:
            values = [int(x) for x in pax[b"GNU.sparse.map"].split(b",") if x]
            segments = [(values[j], values[j + 1]) for j in range(0, len(values) - 1, 2)]
        else:
            offs = [int(v) for k, v in pax_list if k == b"GNU.sparse.offset"]
            lens = [int(v) for k, v in pax_list if k == b"GNU.sparse.numbytes"]
            segments = list(zip(offs, lens, strict=True))
        return (real, 0, segments), 0
    except (ValueError, KeyError, IndexError) as exc:
        raise LayerCorruptError(digest, f"bad sparse map at offset {start}: {exc}") from exc

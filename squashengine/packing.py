"""Little-endian arrays and length-prefixed strings: the pieces of the serialized layer index
(``LayerIndex.to_bytes``, docs/engine.md)."""

from __future__ import annotations

import struct
import sys
from array import array


def pack_u64(values: list[int]) -> bytes:
    arr = array("Q", values)
    if sys.byteorder == "big":
        arr.byteswap()
    return struct.pack("<I", len(arr)) + arr.tobytes()


def unpack_u64(body: bytes, pos: int) -> tuple[list[int], int]:
    (count,) = struct.unpack_from("<I", body, pos)
    pos += 4
    arr = array("Q")
    arr.frombytes(body[pos : pos + 8 * count])
    if sys.byteorder == "big":
        arr.byteswap()
    return arr.tolist(), pos + 8 * count


def pack_blob(value: bytes) -> bytes:
    return struct.pack("<I", len(value)) + value


def unpack_blob(body: bytes, pos: int) -> tuple[bytes, int]:
    (length,) = struct.unpack_from("<I", body, pos)
    return body[pos + 4 : pos + 4 + length], pos + 4 + length


def pack_strings(values: list[bytes]) -> bytes:
    return pack_u64([len(v) for v in values]) + b"".join(values)


def unpack_strings(body: bytes, pos: int) -> tuple[list[bytes], int]:
    lengths, pos = unpack_u64(body, pos)
    out = []
    for length in lengths:
        out.append(body[pos : pos + length])
        pos += length
    return out, pos

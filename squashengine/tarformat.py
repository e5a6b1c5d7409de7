"""Tar format primitives: header fields, PAX records, GNU long names, path cleaning, and a
deterministic header encoder for the few entries the engine must rewrite.

Only what the engine needs: it copies headers verbatim whenever it can, so the encoder is used for
hardlinks whose target changed name, hardlinks promoted to regular files and expanded sparse files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)

# Entry kinds as recorded in the index (one byte each).
REG = b"0"[0]
LNK = b"1"[0]
SYM = b"2"[0]
CHR = b"3"[0]
BLK = b"4"[0]
DIR = b"5"[0]
FIFO = b"6"[0]
WHITEOUT = b"W"[0]  # path = the lower path it hides
OPAQUE = b"O"[0]  # path = the directory whose lower children it hides

# Typeflags with no data after the header, whatever the size field says (as Go and Python do).
HEADER_ONLY = frozenset(b"123456")
# Extension headers that precede the entry they describe.
EXTENSIONS = frozenset(b"xgLKX")

WH_PREFIX = b".wh."
WH_META_PREFIX = b".wh..wh."
WH_OPAQUE = b".wh..wh..opq"


def padded(n: int) -> int:
    """``n`` rounded up to a whole number of blocks."""
    return (n + BLOCK - 1) & ~(BLOCK - 1)


class PathEscapeError(ValueError):
    pass


def clean_path(name: bytes) -> bytes:
    """``./a``, ``a``, ``/a``, ``a/``, ``a//b``, ``a/./b`` are all ``a`` / ``a/b``; root is ``b""``.

    ``..`` is resolved lexically; going above the root raises PathEscapeError.
    """
    if (
        b"." not in name
        and not name.startswith(b"/")
        and not name.endswith(b"/")
        and b"//" not in name
    ):
        return name
    parts: list[bytes] = []
    for part in name.split(b"/"):
        if part == b"" or part == b".":
            continue
        if part == b"..":
            if not parts:
                raise PathEscapeError(name)
            parts.pop()
        else:
            parts.append(part)
    return b"/".join(parts)


def parse_number(field: bytes) -> int:
    """A numeric header field: octal (NUL/space padded) or GNU base-256."""
    if field and field[0] & 0x80:
        value = field[0] & 0x3F
        negative = field[0] & 0x40
        for byte in field[1:]:
            value = (value << 8) | byte
        if negative:
            value -= 1 << (len(field) * 8 - 2)
        return value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError as exc:
        raise ValueError(f"invalid numeric field {field!r}") from exc


def format_number(value: int, width: int) -> bytes:
    """Octal with a trailing NUL when it fits, else GNU base-256 (what Go and GNU tar read)."""
    if 0 <= value < 8 ** (width - 1):
        return b"%0*o\0" % (width - 1, value)
    if value < 0 or value >= 1 << ((width - 1) * 8):
        raise ValueError(f"number {value} does not fit a {width}-byte field")
    return bytes([0x80]) + value.to_bytes(width - 1, "big")


def header_checksum_ok(block: bytes) -> bool:
    stored = block[148:156]
    try:
        want = parse_number(stored)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 256 + sum(block[156:])
    if want == unsigned:
        return True
    # Some old tars computed it with signed chars.
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + block[156:]) + 256
    return want == signed


def parse_pax(data: bytes) -> list[tuple[bytes, bytes]]:
    """PAX extended header records, in order: ``"%d %s=%s\\n"``."""
    records: list[tuple[bytes, bytes]] = []
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:
            break
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        if length <= 0 or pos + length > end:
            raise ValueError("bad PAX record length")
        record = data[space + 1 : pos + length]
        if not record.endswith(b"\n") or b"=" not in record:
            raise ValueError("bad PAX record")
        key, _, value = record[:-1].partition(b"=")
        records.append((key, value))
        pos += length
    return records


def encode_pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


@dataclass
class TarMeta:
    """The metadata of one tar entry, merged from its extension headers."""

    name: bytes = b""
    linkname: bytes = b""
    typeflag: bytes = b"0"
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0
    uname: bytes = b""
    gname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    pax: list[tuple[bytes, bytes]] = field(default_factory=list)


def _cstr(field_bytes: bytes) -> bytes:
    return field_bytes.split(b"\0", 1)[0]


def parse_header_chain(raw: bytes) -> TarMeta:
    """Parse the header bytes of one entry (extension blocks and the main header, no data)."""
    pos = 0
    longname = longlink = None
    pax: list[tuple[bytes, bytes]] = []
    while True:
        block = raw[pos : pos + BLOCK]
        if len(block) < BLOCK:
            raise ValueError("header chain ends early")
        typeflag = block[156:157]
        size = parse_number(block[124:136])
        pos += BLOCK
        if typeflag in (b"x", b"g", b"L", b"K", b"X"):
            data = raw[pos : pos + size]
            pos += padded(size)
            if typeflag in (b"x", b"X"):
                pax.extend(parse_pax(data))
            elif typeflag == b"L":
                longname = data.rstrip(b"\0")
            elif typeflag == b"K":
                longlink = data.rstrip(b"\0")
            continue
        break
    meta = TarMeta(
        name=_cstr(block[0:100]),
        linkname=_cstr(block[157:257]),
        typeflag=typeflag if typeflag != b"\0" else b"0",
        mode=parse_number(block[100:108]),
        uid=parse_number(block[108:116]),
        gid=parse_number(block[116:124]),
        size=size,
        mtime=parse_number(block[136:148]),
        uname=_cstr(block[265:297]),
        gname=_cstr(block[297:329]),
        devmajor=parse_number(block[329:337]) if block[329:337].strip(b"\0 ") else 0,
        devminor=parse_number(block[337:345]) if block[337:345].strip(b"\0 ") else 0,
    )
    if block[257:263] == b"ustar\0":
        prefix = _cstr(block[345:500])
        if prefix:
            meta.name = prefix + b"/" + meta.name
    if longname is not None:
        meta.name = longname
    if longlink is not None:
        meta.linkname = longlink
    for key, value in pax:
        if key == b"path":
            meta.name = value
        elif key == b"linkpath":
            meta.linkname = value
        elif key == b"size":
            meta.size = int(value)
    meta.pax = pax
    return meta


def _ustar_block(
    name: bytes,
    linkname: bytes,
    typeflag: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    uname: bytes = b"",
    gname: bytes = b"",
    devmajor: int = 0,
    devminor: int = 0,
    prefix: bytes = b"",
) -> bytes:
    block = bytearray(BLOCK)
    block[0 : len(name)] = name
    block[100:108] = format_number(mode & 0o7777777, 8)
    block[108:116] = format_number(uid, 8)
    block[116:124] = format_number(gid, 8)
    block[124:136] = format_number(size, 12)
    block[136:148] = format_number(max(mtime, 0), 12)
    block[148:156] = b"        "
    block[156:157] = typeflag
    block[157 : 157 + len(linkname)] = linkname
    block[257:265] = b"ustar\x0000"
    block[265 : 265 + min(len(uname), 32)] = uname[:32]
    block[297 : 297 + min(len(gname), 32)] = gname[:32]
    block[329:337] = format_number(devmajor, 8)
    block[337:345] = format_number(devminor, 8)
    block[345 : 345 + len(prefix)] = prefix
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def simple_file_header(name: bytes, size: int, mode: int = 0o644, typeflag: bytes = b"0") -> bytes:
    """A plain ustar header (name < 100 bytes, mtime 0, root-owned) for archive metadata files."""
    if len(name) > 100:
        raise ValueError("name too long for a simple header")
    return _ustar_block(name, b"", typeflag, mode, 0, 0, size, 0)


def _split_ustar(name: bytes) -> tuple[bytes, bytes] | None:
    """(prefix, name) if ``name`` fits ustar's split name fields."""
    if len(name) <= 100:
        return b"", name
    if len(name) > 256:
        return None
    cut = name.rfind(b"/", 0, 156)
    while cut > 0:
        if len(name) - cut - 1 <= 100:
            if cut <= 155 and cut < len(name) - 1:
                return name[:cut], name[cut + 1 :]
            return None
        cut = name.rfind(b"/", 0, cut)
    return None


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _special_entry(name: bytes, typeflag: bytes, data: bytes) -> list[bytes]:
    """A GNU long-name/long-link or PAX header entry: its block and its padded data."""
    block = _ustar_block(name, b"", typeflag, 0o644, 0, 0, len(data), 0)
    return [block, data + bytes(padded(len(data)) - len(data))]


def _long_field(value: bytes, key: bytes, typeflag: bytes, pax: list, out: list) -> bytes:
    """A name or link too long for its ustar field: a PAX record if it is UTF-8, else a GNU
    long-name/long-link entry; the field gets its first 100 bytes."""
    if _is_utf8(value):
        pax.append((key, value))
    else:
        out += _special_entry(b"././@LongLink", typeflag, value + b"\0")
    return value[:100]


def encode_header(meta: TarMeta) -> bytes:
    """Deterministic header bytes for ``meta``: optional GNU long name/link blocks for non-UTF-8
    long names, an optional PAX header, then a ustar header. Keeps all PAX records of the
    original except those it re-derives (path, linkpath, size, GNU sparse)."""
    out = []
    pax = [
        (k, v)
        for k, v in meta.pax
        if k not in (b"path", b"linkpath", b"size") and not k.startswith(b"GNU.sparse.")
    ]
    name = meta.name
    prefix = b""
    split = _split_ustar(name)
    if split is not None:
        prefix, name_field = split
    else:
        name_field = _long_field(name, b"path", b"L", pax, out)
    link = meta.linkname
    link_field = link if len(link) <= 100 else _long_field(link, b"linkpath", b"K", pax, out)
    if pax:
        out += _special_entry(
            b"././@PaxHeader", b"x", b"".join(encode_pax_record(k, v) for k, v in pax)
        )
    out.append(
        _ustar_block(
            name_field,
            link_field,
            meta.typeflag,
            meta.mode,
            meta.uid,
            meta.gid,
            meta.size,
            meta.mtime,
            meta.uname,
            meta.gname,
            meta.devmajor,
            meta.devminor,
            prefix,
        )
    )
    return b"".join(out)

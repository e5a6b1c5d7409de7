"""Files of a local image source: a directory, or an uncompressed tar read in place (a member is
a window of the tar file, never extracted). Blob names and digest checks live here too."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections.abc import Callable
from typing import BinaryIO

from .decompress import detect_compression
from .errors import SourceError

# OCI image spec: algorithm ":" encoded; sha256/sha512 hex is checked further by _verify.
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
HEX_LENGTHS = {"sha256": 64, "sha512": 128}


class _Section:
    """A read-only window [offset, offset+size) of a file."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._file = open(path, "rb")
        self._file.seek(offset)
        self._offset = offset
        self._size = size
        self._left = size

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._size - self._left
        elif whence == 2:
            pos += self._size
        pos = max(0, min(pos, self._size))
        self._file.seek(self._offset + pos)
        self._left = self._size - pos
        return pos

    def tell(self) -> int:
        return self._size - self._left

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._file.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _Section:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DirFS:
    def __init__(self, root: str) -> None:
        self.where = root

    def has(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.where, name))

    def read(self, name: str) -> bytes:
        try:
            with open(os.path.join(self.where, name), "rb") as f:
                return f.read()
        except OSError as exc:
            raise SourceError(f"cannot read {name} in {self.where}: {exc.strerror}") from exc

    def opener(self, name: str) -> tuple[Callable[[], BinaryIO], int]:
        """How to open ``name`` and its size."""
        path = os.path.join(self.where, name)
        if not os.path.isfile(path):
            raise SourceError(f"{name} is missing from {self.where}")
        return (lambda: open(path, "rb")), os.path.getsize(path)

    def close(self) -> None:
        pass


class TarFS:
    def __init__(self, path: str) -> None:
        self.where = path
        with open(path, "rb") as f:
            compression = detect_compression(f.read(4))
        if compression != "none":
            # Members are read in place by offset, which a compressed stream does not allow.
            raise SourceError(f"{path} is a {compression} archive; decompress it first")
        try:
            self.tar = tarfile.open(path, "r:")
        except (tarfile.TarError, OSError) as exc:
            raise SourceError(f"{path} is neither an OCI layout nor a readable tar: {exc}") from exc
        self.members = {}
        for member in self.tar.getmembers():
            self.members[os.path.normpath(member.name).lstrip("/")] = member

    def _member(self, name: str, depth: int = 0) -> tarfile.TarInfo:
        member = self.members.get(os.path.normpath(name).lstrip("/"))
        if member is None or depth > 8:
            raise SourceError(f"{name} is missing from {self.where}")
        if member.issym():
            return self._member(os.path.join(os.path.dirname(name), member.linkname), depth + 1)
        if member.islnk():
            return self._member(member.linkname, depth + 1)
        return member

    def has(self, name: str) -> bool:
        return os.path.normpath(name).lstrip("/") in self.members

    def read(self, name: str) -> bytes:
        opener, _size = self.opener(name)
        with opener() as f:
            return f.read()

    def opener(self, name: str) -> tuple[Callable[[], BinaryIO], int]:
        member = self._member(name)
        offset, size, path = member.offset_data, member.size, self.where
        return (lambda: _Section(path, offset, size)), size

    def close(self) -> None:
        self.tar.close()


def split_spec(path_spec: str) -> tuple[str, str | None]:
    """``PATH[:REF]`` into the path and the ref: the whole spec if it exists, else the longest
    prefix ending before a ``:`` that exists (so a ref may hold ``:`` and ``/``)."""
    if os.path.exists(path_spec):
        return path_spec, None
    cut = path_spec.rfind(":")
    while cut > 0:
        if os.path.exists(path_spec[:cut]):
            return path_spec[:cut], path_spec[cut + 1 :]
        cut = path_spec.rfind(":", 0, cut)
    raise SourceError(f"{path_spec}: no such file or directory")


def load_json(data: bytes, what: str, kind: type = dict):
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise SourceError(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(doc, kind):
        raise SourceError(f"{what} is not a JSON {'object' if kind is dict else 'array'}")
    return doc


def blob_name(digest: object) -> str:
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise SourceError(f"bad digest {digest!r}")
    algo, _, hexpart = digest.partition(":")
    if algo in HEX_LENGTHS and not re.fullmatch(f"[0-9a-f]{{{HEX_LENGTHS[algo]}}}", hexpart):
        raise SourceError(f"bad digest {digest!r}")
    return f"blobs/{algo}/{hexpart}"


def blob_opener(fs, digest: str) -> tuple[Callable[[], BinaryIO], int]:
    name = blob_name(digest)
    if not fs.has(name):
        raise SourceError(f"blob {digest} is missing from {fs.where}")
    return fs.opener(name)


def read_verified(fs, digest: str) -> bytes:
    """A small blob (manifest, index, config), checked against its digest."""
    name = blob_name(digest)
    if not fs.has(name):
        raise SourceError(f"blob {digest} is missing from {fs.where}")
    data = fs.read(name)
    algo, _, hexpart = digest.partition(":")
    if algo in HEX_LENGTHS and hashlib.new(algo, data).hexdigest() != hexpart:
        raise SourceError(f"blob {digest} in {fs.where} does not match its digest")
    return data


def open_fs(path: str):
    """The directory or the tar at ``path``."""
    return DirFS(path) if os.path.isdir(path) else TarFS(path)

"""The storage protocol every driver implements, and the digest rules shared by all of them.

Everything that outlives a request lives behind this protocol, under a flat key space::

    blobs/<algo>/<ab>/<hex>              registry blobs (content-addressed, verified)
    uploads/<session>/<start>-<end>-<h>  committed chunks of an upload session
    indexes/<algo>/<hex>.idx             the squash engine's layer indexes, one per layer
    squash/partial/<id>.<attempt>/<n>    committed segments of a squash being built
    squash/blobs/<id>.tar[.gz|.zst]      finished squashes
    tmp/                                 driver-private temporary objects

A key is visible only once complete: ``write`` publishes after the last byte (and after the
digest check when one is expected), ``commit_file``/``move``/``assemble`` are atomic. Callers
never ask which driver they have: a feature a driver lacks is an explicit method that answers
``None`` (``presigned_url``, ``local_path``).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
ALGORITHMS = ("sha256", "sha512")
DIGEST_RE = re.compile(r"^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
KEY_RE = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")


class DigestMismatch(Exception):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def check_digest_syntax(digest: str) -> str:
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise ValueError(f"unsupported or malformed digest {digest!r}")
    return digest


def check_key(key: str) -> str:
    # No "..", no absolute paths, no empty segments: a key never escapes the driver's root.
    if not KEY_RE.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def hasher_for(digest: str | None):
    """A fresh hash object of ``digest``'s algorithm (sha256 when no digest is expected)."""
    if digest is None:
        return hashlib.sha256()
    return hashlib.new(check_digest_syntax(digest).split(":", 1)[0])


def digest_of(hasher) -> str:
    return f"{hasher.name}:{hasher.hexdigest()}"


def blob_key(digest: str) -> str:
    algo, hexpart = check_digest_syntax(digest).split(":", 1)
    return f"blobs/{algo}/{hexpart[:2]}/{hexpart}"


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


class Storage(ABC):
    """One storage driver: objects by key, complete or absent, shared by every host."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo | None:
        """Size and age of an object, or None if there is none."""

    @abstractmethod
    def open(self, key: str, offset: int = 0) -> BinaryIO:
        """A reader positioned at ``offset``; FileNotFoundError if the object does not exist."""

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    @abstractmethod
    def write(
        self,
        key: str,
        chunks: Iterable[bytes],
        expected_digest: str | None = None,
        *,
        durable: bool = True,
    ) -> tuple[str, int]:
        """Store a stream under ``key``; returns ``(digest, size)``.

        The digest uses ``expected_digest``'s algorithm (sha256 without one); on a mismatch
        DigestMismatch is raised and nothing is visible. ``durable=False`` skips the fsync of
        objects that die with the process that writes them anyway (build segments).
        """

    @abstractmethod
    def commit_file(self, path: Path, key: str, *, durable: bool = True) -> None:
        """Take over a complete local file (the caller verified it) as ``key``.

        ``path`` is gone afterwards; files in :meth:`staging_dir` are taken over most cheaply
        (a rename on the local driver).
        """

    @abstractmethod
    def move(self, src: str, dest: str) -> None:
        """Give an object a new key (atomic at the destination); the source disappears."""

    @abstractmethod
    def assemble(self, dest: str, parts: list[str], local_copy: Path | None = None) -> None:
        """Make ``dest`` the concatenation of ``parts`` (which stay until deleted).

        ``local_copy``, if given, is a local file holding exactly those bytes that the driver
        may consume instead of copying (it is gone afterwards if used).
        """

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; a missing one is not an error."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``."""

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for info in list(self.list(prefix)):
            self.delete(info.key)
            removed += 1
        return removed

    @abstractmethod
    def presigned_url(
        self, key: str, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        """A URL a client may GET the object from directly, or None (serve it yourself).

        A presigned URL is a bearer credential until it expires: never log it.
        """

    @abstractmethod
    def local_path(self, key: str) -> Path | None:
        """A path on this host's disk holding the object (memory map, X-Accel), or None."""

    @abstractmethod
    def staging_dir(self) -> Path:
        """A directory on this host for files that :meth:`commit_file` will take over."""

    @abstractmethod
    def cleanup(self, older_than: float) -> dict[str, int]:
        """Remove leftovers of writes that died half way, begun before ``older_than`` (epoch
        seconds): temporary files or objects, unfinished multipart uploads. Never an object."""

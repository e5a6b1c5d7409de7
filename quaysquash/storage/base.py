"""The storage protocol every driver implements, and the key rules shared by all of them
(digests: :mod:`.digests`).

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

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .digests import HashedStream, check_digest_syntax

CHUNK = 1024 * 1024
KEY_RE = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$")


def check_key(key: str) -> str:
    # No "..", no absolute paths, no empty segments: a key never escapes the driver's root.
    if not KEY_RE.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


def blob_key(digest: str) -> str:
    algo, hexpart = check_digest_syntax(digest).split(":", 1)
    return f"blobs/{algo}/{hexpart[:2]}/{hexpart}"


def remove_older(directory: Path, older_than: float) -> int:
    """Delete the files of ``directory`` last changed before ``older_than``; how many went."""
    removed = 0
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass  # taken over or removed meanwhile
    return removed


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
        return self._store(check_key(key), HashedStream(chunks, expected_digest), durable)

    @abstractmethod
    def _store(self, key: str, stream: HashedStream, durable: bool) -> tuple[str, int]:
        """The driver's half of :meth:`write`: send ``stream`` to ``key`` and publish it only
        once ``stream.verified()`` passed, returning what that returned."""

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

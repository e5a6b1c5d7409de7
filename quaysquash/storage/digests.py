"""Content digests (``<algorithm>:<hex>``): which algorithms the registry accepts, and hashing.

The one place for the registry views and the storage drivers alike, so that a digest the API
accepts is always one storage can file and verify. The OCI image spec registers ``sha256`` and
``sha512``; both are accepted everywhere (blobs, manifests, referrers). Content the registry
names itself (a manifest pushed by tag, a blob uploaded without an expected digest) is named
with ``sha256``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Protocol

# Accepted algorithm -> length of its lowercase hex encoding (OCI image spec, "Digests").
ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}
DEFAULT_ALGORITHM = "sha256"

DIGEST_RE = re.compile(
    "^(?:" + "|".join(f"{name}:[a-f0-9]{{{n}}}" for name, n in ALGORITHMS.items()) + ")$"
)
# The image spec's general grammar: a digest of any algorithm, supported or not.
GRAMMAR_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class Hasher(Protocol):
    name: str

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


class DigestMismatch(Exception):
    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"digest mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def is_valid(digest: str | None) -> bool:
    """Whether ``digest`` is well formed and of an accepted algorithm."""
    return isinstance(digest, str) and DIGEST_RE.match(digest) is not None


def parse(digest: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of an accepted digest; ``ValueError`` for anything else."""
    if not is_valid(digest):
        raise ValueError(f"unsupported or malformed digest {digest!r}")
    algorithm, _, hexpart = digest.partition(":")
    return algorithm, hexpart


def check_digest_syntax(digest: str) -> str:
    """``digest`` itself if accepted; ``ValueError`` for anything else."""
    parse(digest)
    return digest


def algorithm_of(digest: str | None) -> str:
    """The algorithm to hash with when ``digest`` is expected (the default when none is)."""
    return parse(digest)[0] if digest is not None else DEFAULT_ALGORITHM


def new_hasher(algorithm: str = DEFAULT_ALGORITHM) -> Hasher:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def hasher_for(expected: str | None) -> Hasher:
    """A fresh hasher of the algorithm ``expected`` uses (sha256 without an expectation)."""
    return new_hasher(algorithm_of(expected))


def digest_of(hasher: Hasher) -> str:
    """The digest a finished hasher stands for (hashlib names are the spec's names)."""
    return f"{hasher.name}:{hasher.hexdigest()}"


def compute(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return digest_of(hasher)


class HashedStream:
    """Chunks hashed and counted as they pass, for a writer that publishes only after
    :meth:`verified` (the one way every driver checks what it stores)."""

    def __init__(self, chunks: Iterable[bytes], expected: str | None) -> None:
        self.chunks = chunks
        self.expected = expected
        self.hasher = hasher_for(expected)
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        update = self.hasher.update
        for chunk in self.chunks:
            update(chunk)
            self.size += len(chunk)
            yield chunk

    def verified(self) -> tuple[str, int]:
        """``(digest, size)`` of everything that passed; DigestMismatch if not the expected."""
        digest = digest_of(self.hasher)
        if self.expected is not None and digest != self.expected:
            raise DigestMismatch(self.expected, digest)
        return digest, self.size

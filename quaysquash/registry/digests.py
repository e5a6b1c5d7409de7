"""Content digests (``<algorithm>:<hex>``): which algorithms the registry accepts, and hashing.

One place for the registry views and the storage code alike, so that a digest the API accepts
is always one storage can file and verify. The OCI image spec registers ``sha256`` and
``sha512``; both are accepted everywhere (blobs, manifests, referrers). Content the registry
names itself (a manifest pushed by tag, a blob uploaded without an expected digest) is named
with ``sha256``.
"""

from __future__ import annotations

import hashlib
import re
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


def is_valid(digest: str | None) -> bool:
    """Whether ``digest`` is well formed and of an accepted algorithm."""
    return bool(digest) and DIGEST_RE.match(digest) is not None


def parse(digest: str) -> tuple[str, str]:
    """``(algorithm, hex)`` of an accepted digest; ``ValueError`` for anything else."""
    if not is_valid(digest):
        raise ValueError(f"unsupported or malformed digest {digest!r}")
    algorithm, _, hexpart = digest.partition(":")
    return algorithm, hexpart


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


def of_hasher(hasher: Hasher) -> str:
    """The digest a finished hasher stands for (hashlib names are the spec's names)."""
    return f"{hasher.name}:{hasher.hexdigest()}"


def compute(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return of_hasher(hasher)

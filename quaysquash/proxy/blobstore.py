"""The one place pull-through touches blob storage (re-pointed when the storage layer changes).

``store_blob`` makes a blob visible only once all its bytes arrived and matched ``digest``;
anything else leaves storage as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

from quaysquash.registry.storage import DigestMismatch, get_storage

__all__ = ["DigestMismatch", "has_blob", "store_blob"]


def has_blob(digest: str) -> bool:
    return get_storage().exists(digest)


def store_blob(digest: str, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` as blob ``digest``; returns its size. Raises DigestMismatch (nothing
    written) when the bytes are not that blob."""
    _, size = get_storage().write_stream(chunks, expected_digest=digest)
    return size

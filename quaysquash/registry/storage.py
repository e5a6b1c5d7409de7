"""The registry's view of the storage layer: blobs by digest (:mod:`quaysquash.storage`).

Kept as the registry's import point so that views, the importer and the squash resolver say
``get_storage().open(digest)``; the drivers themselves live in ``quaysquash/storage/``.
"""

from __future__ import annotations

from quaysquash.storage import CHUNK, DIGEST_RE, DigestMismatch, check_digest_syntax
from quaysquash.storage.blobs import BlobStore, get_blob_store

get_storage = get_blob_store

__all__ = [
    "CHUNK",
    "DIGEST_RE",
    "BlobStore",
    "DigestMismatch",
    "check_digest_syntax",
    "get_storage",
]

"""The registry's view of the storage layer: blobs by digest (:mod:`quaysquash.storage`).

Kept as the registry's import point so that views, the importer and the squash resolver say
``get_storage().open(digest)``; the drivers themselves live in ``quaysquash/storage/``.
"""

from __future__ import annotations

import re

from quaysquash.storage import CHUNK, DigestMismatch, check_digest_syntax
from quaysquash.storage.blobs import BlobStore, get_blob_store

# The digests the /v2/ API accepts. The storage layer already stores sha256 and sha512
# (quaysquash.storage.DIGEST_RE); widening the API is the API's decision.
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")

get_storage = get_blob_store

__all__ = [
    "CHUNK",
    "DIGEST_RE",
    "BlobStore",
    "DigestMismatch",
    "check_digest_syntax",
    "get_storage",
]

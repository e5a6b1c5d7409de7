"""Blob upload sessions kept in the database and the storage layer, so that any web server can
take any request of a session.

The session row (``Upload``) holds the committed offset; each request's body becomes one chunk
object ``uploads/<session>/<start>-<end>-<algo>-<hex>`` (its byte range and its own digest)
before the row's offset moves, with a conditional update, so the row only ever points past
chunks that are complete in storage. Finishing verifies the digest and publishes the blob:

- one chunk whose own digest is the blob's (docker, podman and skopeo send one PATCH): the
  chunk is moved to its blob key (a rename on the local driver, a copy inside the bucket);
- this process saw every chunk in order: its running hash covers the session, and the chunks
  are assembled (on S3, large chunks are copied server-side);
- otherwise (chunks arrived at other hosts): the chunks are read back in order while being
  hashed into the blob key, which appears only if the digest matched.

hashlib objects cannot be serialised, so a running hash never leaves its process; the chunk
objects are the state that does. Nothing of a session is ever visible as a blob before the
digest matched.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from cachetools import LRUCache

from quaysquash.storage import (
    CHUNK,
    DigestMismatch,
    blob_key,
    check_digest_syntax,
    digest_of,
    get_storage,
    hasher_for,
)

from .bodies import HashedBody

CHUNK_RE = re.compile(r"^(\d{20})-(\d{20})-(sha256|sha512)-([a-f0-9]+)$")
_states: LRUCache = LRUCache(maxsize=1024)
_lock = threading.Lock()

# Requests on one session run one at a time in this process (a retry may overlap a request
# still being processed): striped locks keep memory bounded. Across hosts, the conditional
# update of the row's offset decides.
_session_locks = [threading.Lock() for _ in range(64)]


def session_lock(upload_id: str) -> threading.Lock:
    return _session_locks[hash(upload_id) % len(_session_locks)]


def prefix(upload_id: str) -> str:
    return f"uploads/{upload_id}/"


def chunk_key(upload_id: str, start: int, end: int, digest: str) -> str:
    algo, hexpart = digest.split(":", 1)
    return f"{prefix(upload_id)}{start:020d}-{end:020d}-{algo}-{hexpart}"


def create(upload_id: str) -> None:
    """A new, empty session: nothing in storage until its first chunk."""
    _remember(upload_id, 0, hasher_for(None))


def _remember(upload_id: str, offset: int, hasher) -> None:
    with _lock:
        _states[upload_id] = (offset, hasher)


def _take(upload_id: str, offset: int):
    """The running sha256 of a session if this process holds one covering ``offset`` bytes."""
    with _lock:
        state = _states.pop(upload_id, None)
    if state is None or state[0] != offset:
        return None
    return state[1]


def stage(request_read, expected: str | None = None) -> HashedBody:
    """A request body without the ASGI handler's staging: copy it to the staging area."""
    return HashedBody.from_reader(get_storage().staging_dir(), request_read, expected)


def commit_chunk(upload_id: str, offset: int, body: HashedBody) -> tuple[str, int]:
    """Store a staged body as the chunk starting at ``offset``; returns ``(key, new offset)``.

    The caller moves the row's offset afterwards (conditionally); a chunk whose row update
    lost is an orphan that finishing ignores and the cleanup removes.
    """
    end = offset + body.size
    hasher = _take(upload_id, offset)
    path = body.claim(sync=False)
    if hasher is not None:
        if offset == 0 and body.hasher.name == hasher.name:
            hasher = body.hasher.copy()
        else:
            _hash_file(hasher, path)
    key = chunk_key(upload_id, offset, end, body.digest)
    get_storage().commit_file(path, key, durable=False)
    if hasher is not None:
        _remember(upload_id, end, hasher)
    return key, end


def _hash_file(hasher, path: Path) -> None:
    with open(path, "rb") as fh:
        while data := fh.read(CHUNK):
            hasher.update(data)


def chunks(upload_id: str, offset: int) -> list[tuple[int, int, str, str]]:
    """The committed chunks covering exactly ``[0, offset)``, in order:
    ``(start, end, digest, key)``. Orphans (a request whose row update lost) are skipped by
    preferring, at each position, the longest chunk that still leads to ``offset``."""
    found: dict[int, list[tuple[int, str, str]]] = {}
    for info in get_storage().list(prefix(upload_id)):
        match = CHUNK_RE.match(info.key.rsplit("/", 1)[-1])
        if match:
            start, end = int(match[1]), int(match[2])
            found.setdefault(start, []).append((end, f"{match[3]}:{match[4]}", info.key))
    chain: list[tuple[int, int, str, str]] = []

    def walk(pos: int) -> bool:
        if pos == offset:
            return True
        for end, digest, key in sorted(found.get(pos, []), reverse=True):
            if pos < end <= offset:
                chain.append((pos, end, digest, key))
                if walk(end):
                    return True
                chain.pop()
        return False

    if not walk(0):
        raise FileNotFoundError(f"upload {upload_id}: chunks do not cover {offset} bytes")
    return chain


def finish(upload_id: str, offset: int, expected_digest: str) -> tuple[str, int]:
    """Verify the session's digest and publish it as a blob; returns ``(digest, size)``."""
    check_digest_syntax(expected_digest)
    storage = get_storage()
    chain = chunks(upload_id, offset)
    target = blob_key(expected_digest)
    hasher = _take(upload_id, offset)
    if len(chain) == 1 and chain[0][2] == expected_digest:
        storage.move(chain[0][3], target)
    elif hasher is not None and hasher.name == expected_digest.split(":", 1)[0]:
        digest = digest_of(hasher)
        if digest != expected_digest:
            raise DigestMismatch(expected_digest, digest)
        if chain:
            storage.assemble(target, [key for *_, key in chain])
        else:
            storage.write(target, [], expected_digest)
    else:
        storage.write(target, _read_chain(chain), expected_digest)
    discard(upload_id)
    return expected_digest, offset


def _read_chain(chain):
    storage = get_storage()
    for _start, _end, _digest, key in chain:
        with storage.open(key) as fh:
            while data := fh.read(CHUNK):
                yield data


def discard(upload_id: str) -> None:
    with _lock:
        _states.pop(upload_id, None)
    get_storage().delete_prefix(prefix(upload_id))

"""Blob upload sessions: bytes stream into a file under ``<storage>/uploads/`` while hashed.

A session's file is never visible as a blob: only :func:`finish` moves it into content-addressed
storage, after its digest matched, with an atomic rename. The running sha256 of each session is
kept in this process so finishing a session does not re-read it; when the state is missing (a
server restart, or another worker took the earlier chunks) the file is re-hashed instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from . import digests
from .storage import CHUNK, DigestMismatch, get_storage

_MAX_STATES = 1024
_states: OrderedDict[str, tuple[int, object]] = OrderedDict()
_lock = threading.Lock()


# Requests on one session run one at a time (clients never overlap them, but a retry may
# overlap a request still being processed): striped locks, so memory stays bounded. They guard
# one process; the database offset check covers the rest.
_session_locks = [threading.Lock() for _ in range(64)]


def session_lock(upload_id: str) -> threading.Lock:
    return _session_locks[hash(upload_id) % len(_session_locks)]


def session_path(upload_id: str) -> Path:
    return get_storage().uploads_dir / f"session-{upload_id}"


def create(upload_id: str) -> None:
    session_path(upload_id).touch()
    _remember(upload_id, 0, hashlib.sha256())


def _remember(upload_id: str, offset: int, hasher) -> None:
    with _lock:
        _states[upload_id] = (offset, hasher)
        _states.move_to_end(upload_id)
        while len(_states) > _MAX_STATES:
            _states.popitem(last=False)


def _take(upload_id: str, offset: int):
    """The running hash of a session if it covers exactly ``offset`` bytes, else ``None``."""
    with _lock:
        state = _states.pop(upload_id, None)
    if state is None or state[0] != offset:
        return None
    return state[1]


def append(upload_id: str, read: Callable[[int], bytes], offset: int) -> int:
    """Append everything ``read`` yields to the session (which holds ``offset`` bytes).

    Returns the new size. Bytes past ``offset`` left by an earlier, interrupted request are
    overwritten: the database offset is the truth, the file only grows to match it.
    """
    path = session_path(upload_id)
    hasher = _take(upload_id, offset)
    size = offset
    with open(path, "r+b") as out:
        out.seek(offset)
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            if hasher is not None:
                hasher.update(chunk)
            size += len(chunk)
        out.truncate(size)
    if hasher is not None:
        _remember(upload_id, size, hasher)
    return size


def adopt(upload_id: str, path: Path, size: int, hasher) -> int:
    """Make an already written and hashed file the whole content of an empty session."""
    os.replace(path, session_path(upload_id))
    _remember(upload_id, size, hasher.copy())
    return size


def finish(upload_id: str, offset: int, expected_digest: str) -> tuple[str, int]:
    """Verify the session's digest and move it into storage; returns ``(digest, size)``."""
    path = session_path(upload_id)
    hasher = _take(upload_id, offset)
    algorithm = digests.algorithm_of(expected_digest)
    if hasher is None or hasher.name != algorithm:
        # The running hash is sha256 (the algorithm is only known now, from the PUT).
        hasher = digests.new_hasher(algorithm)
        with open(path, "rb") as fh:
            remaining = offset
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                hasher.update(chunk)
                remaining -= len(chunk)
    with open(path, "r+b") as fh:
        fh.truncate(offset)
        os.fsync(fh.fileno())
    digest = digests.of_hasher(hasher)
    if digest != expected_digest:
        raise DigestMismatch(expected_digest, digest)
    get_storage().commit_file(path, digest)
    return digest, offset


def discard(upload_id: str) -> None:
    with _lock:
        _states.pop(upload_id, None)
    session_path(upload_id).unlink(missing_ok=True)

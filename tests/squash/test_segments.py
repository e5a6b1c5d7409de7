"""The build's segment writer (quaysquash.squash.segments) on the local driver, no servers:
each test in both ways of committing a segment (in place: the engine writes the segment's own
file, renamed at the cut; copied out of one scratch file, as on S3)."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from quaysquash.squash.segments import WRITE_BUFFER, SegmentWriter
from quaysquash.storage.local import LocalStorage


class Published:
    def __init__(self) -> None:
        self.lists: list[list[int]] = []
        self.event = threading.Event()

    def __call__(self, ends: list[int]) -> None:
        self.lists.append(ends)
        self.event.set()


@pytest.fixture(params=[True, False], ids=["in_place", "copied"])
def in_place(request) -> bool:
    return request.param


def writer(tmp_path, storage=None, **options) -> tuple[SegmentWriter, Published, LocalStorage]:
    storage = storage or LocalStorage(tmp_path / "storage")
    scratch = storage.staging_dir() / "scratch"
    published = Published()
    options.setdefault("segment_bytes", 1000)
    options.setdefault("segment_seconds", 10.0)
    w = SegmentWriter(storage, scratch, lambda i: f"seg/{i:06d}", published, **options)
    return w, published, storage


def joined(storage, keys) -> bytes:
    return b"".join(storage.read_bytes(k) for k in keys)


def test_it_commits_full_segments_in_order_and_the_rest_at_close(tmp_path, in_place):
    w, published, storage = writer(tmp_path, in_place=in_place)
    data = os.urandom(3500)
    for i in range(0, len(data), 100):
        w.write(data[i : i + 100])
        if i % 1000 == 900:
            w.flush()
    w.close()
    assert w.committed == 3500 and joined(storage, w.keys) == data
    # In place a segment is cut at a write: at most one flush of the buffer past the size.
    limit = 1000 + WRITE_BUFFER if in_place else 1000
    assert all(b - a <= limit for a, b in zip([0, *w.ends], w.ends, strict=False))
    assert len(w.keys) >= 2
    # Every published list extends the previous one: followers never see a segment vanish.
    for before, after in zip(published.lists, published.lists[1:], strict=False):
        assert after[: len(before)] == before
    assert published.lists[-1] == w.ends


def test_it_lets_the_first_bytes_leave_at_once(tmp_path, in_place):
    w, published, storage = writer(tmp_path, segment_seconds=10.0, in_place=in_place)
    w.write(b"x" * 100)
    w.flush()
    assert published.event.wait(2), "the first bytes waited for a full segment"
    assert published.lists[0] == [100]
    w.close()


def test_it_commits_what_waits_on_a_timer_during_a_slow_phase(tmp_path, in_place):
    w, published, storage = writer(
        tmp_path, segment_bytes=1 << 20, segment_seconds=0.05, in_place=in_place
    )
    for _ in range(4):
        w.write(b"y" * 10)  # small writes stay in the buffer until the timer cuts them
        time.sleep(0.2)
    assert len(published.lists) >= 3  # progress shows although no segment filled up
    w.close()
    assert w.committed == 40 and joined(storage, w.keys) == b"y" * 40


class FailingStorage(LocalStorage):
    def write(self, key, chunks, expected_digest=None, *, durable=True):
        if key.endswith("000001"):
            raise OSError("bucket unreachable")
        return super().write(key, chunks, expected_digest, durable=durable)

    def commit_file(self, path, key, *, durable=True):
        if key.endswith("000001"):
            raise OSError("bucket unreachable")
        return super().commit_file(path, key, durable=durable)


def test_it_raises_a_failed_commit_to_the_engine(tmp_path, in_place):
    w, published, _ = writer(tmp_path, FailingStorage(tmp_path / "storage"), in_place=in_place)
    with pytest.raises(RuntimeError, match="bucket unreachable"):
        for _ in range(100):
            w.write(b"z" * 500)
            w.flush()
            time.sleep(0.005)
        w.close()
    assert all(end <= 1000 for ends in published.lists for end in ends)  # nothing past the hole


def test_it_chooses_in_place_on_the_local_driver(tmp_path):
    w, _, storage = writer(tmp_path)
    assert w.in_place and w.local_copy is None
    w.write(b"a" * 5000)
    w.close()
    assert w.sha256() == "sha256:" + hashlib.sha256(b"a" * 5000).hexdigest()
    # Every segment file was renamed into place: nothing is left in the staging directory.
    assert list(storage.staging_dir().iterdir()) == []


def test_it_hashes_and_assembles_what_it_committed(tmp_path, in_place):
    w, _, storage = writer(tmp_path, in_place=in_place)
    data = os.urandom(70_000)
    for i in range(0, len(data), 7000):
        w.write(data[i : i + 7000])
        time.sleep(0.002)
    w.close()
    assert w.sha256() == "sha256:" + hashlib.sha256(data).hexdigest()
    storage.assemble("done", w.keys, local_copy=w.local_copy)
    assert storage.read_bytes("done") == data


def test_it_leaves_no_staged_file_after_an_abort(tmp_path, in_place):
    w, _, storage = writer(tmp_path, in_place=in_place)
    w.write(b"b" * 3000)
    w.abort()
    leftovers = [p.name for p in storage.staging_dir().iterdir()]
    assert leftovers == ([] if in_place else ["scratch"])

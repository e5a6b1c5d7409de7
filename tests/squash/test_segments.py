"""The build's segment writer (quaysquash.squash.segments) on the local driver, no servers."""

from __future__ import annotations

import os
import threading
import time

import pytest

from quaysquash.squash.segments import SegmentWriter
from quaysquash.storage.local import LocalStorage


class Published:
    def __init__(self) -> None:
        self.lists: list[list[int]] = []
        self.event = threading.Event()

    def __call__(self, ends: list[int]) -> None:
        self.lists.append(ends)
        self.event.set()


def writer(tmp_path, storage=None, **options) -> tuple[SegmentWriter, Published, LocalStorage]:
    storage = storage or LocalStorage(tmp_path / "storage")
    published = Published()
    options.setdefault("segment_bytes", 1000)
    options.setdefault("segment_seconds", 10.0)
    w = SegmentWriter(storage, tmp_path / "scratch", lambda i: f"seg/{i:06d}", published, **options)
    return w, published, storage


def joined(storage, keys) -> bytes:
    return b"".join(storage.read_bytes(k) for k in keys)


def test_it_commits_full_segments_in_order_and_the_rest_at_close(tmp_path):
    w, published, storage = writer(tmp_path)
    data = os.urandom(3500)
    for i in range(0, len(data), 100):
        w.write(data[i : i + 100])
    w.close()
    assert w.committed == 3500 and joined(storage, w.keys) == data
    assert all(b - a <= 1000 for a, b in zip([0, *w.ends], w.ends, strict=False))
    # Every published list extends the previous one: followers never see a segment vanish.
    for before, after in zip(published.lists, published.lists[1:], strict=False):
        assert after[: len(before)] == before
    assert published.lists[-1] == w.ends


def test_it_lets_the_first_bytes_leave_at_once(tmp_path):
    w, published, storage = writer(tmp_path, segment_seconds=10.0)
    w.write(b"x" * 100)
    w.flush()
    assert published.event.wait(2), "the first bytes waited for a full segment"
    assert published.lists[0] == [100]
    w.close()


def test_it_commits_what_waits_on_a_timer_during_a_slow_phase(tmp_path):
    w, published, storage = writer(tmp_path, segment_bytes=1 << 20, segment_seconds=0.05)
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


def test_it_raises_a_failed_commit_to_the_engine(tmp_path):
    w, published, _ = writer(tmp_path, FailingStorage(tmp_path / "storage"))
    with pytest.raises(RuntimeError, match="bucket unreachable"):
        for _ in range(100):
            w.write(b"z" * 500)
            time.sleep(0.005)
        w.close()
    assert all(end <= 1000 for ends in published.lists for end in ends)  # nothing past the hole

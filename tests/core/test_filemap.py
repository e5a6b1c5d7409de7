"""The memory-mapped sender of complete squashes (quaysquash.core.filemap)."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from quaysquash.core import filemap

CHUNK = 1 << 20


async def _collect(mapped: filemap.MappedFile, start: int, end: int) -> list[bytes]:
    return [bytes(view) async for view in mapped.chunks(start, end, CHUNK)]


def _write(path, size: int) -> bytes:
    data = hashlib.sha256(b"seed").digest() * (size // 32 + 1)
    data = data[:size]
    path.write_bytes(data)
    return data


def test_it_is_available_on_linux():
    assert filemap.available()


def test_it_sends_the_whole_file_in_chunks(tmp_path):
    data = _write(tmp_path / "f", 5 * CHUNK + 123)
    with open(tmp_path / "f", "rb") as fh:
        mapped = filemap.MappedFile(fh.fileno(), len(data))
        parts = asyncio.run(_collect(mapped, 0, len(data)))
    assert [len(p) for p in parts] == [CHUNK] * 5 + [123]
    assert b"".join(parts) == data


def test_it_sends_a_byte_range(tmp_path):
    data = _write(tmp_path / "f", 3 * CHUNK)
    with open(tmp_path / "f", "rb") as fh:
        mapped = filemap.MappedFile(fh.fileno(), len(data))
        parts = asyncio.run(_collect(mapped, 4097, 2 * CHUNK + 5))
    assert b"".join(parts) == data[4097 : 2 * CHUNK + 5]


def test_it_reads_pages_missing_from_the_page_cache_on_a_thread(tmp_path):
    data = _write(tmp_path / "f", 4 * CHUNK)
    with open(tmp_path / "f", "rb") as fh:
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        mapped = filemap.MappedFile(fh.fileno(), len(data))
        resident_when_sent = []

        async def run() -> list[bytes]:
            parts, pos = [], 0
            async for view in mapped.chunks(0, len(data), CHUNK):
                # By the time a chunk reaches the event loop its pages are resident.
                resident_when_sent.append(mapped._resident(pos, pos + len(view), _vector()))
                parts.append(bytes(view))
                pos += len(view)
            return parts

        parts = asyncio.run(run())
    assert b"".join(parts) == data
    assert all(resident_when_sent)
    if mapped.faulted_in == 0:
        pytest.fail("dropping the file from the page cache did not take: nothing was faulted in")


def _vector():
    import ctypes

    return (ctypes.c_ubyte * (CHUNK // filemap.PAGE + 2))()


def test_it_handles_an_empty_file(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    with open(tmp_path / "f", "rb") as fh:
        mapped = filemap.MappedFile(fh.fileno(), 0)
        assert asyncio.run(_collect(mapped, 0, 0)) == []


def test_it_keeps_the_bytes_after_the_descriptor_is_closed_and_the_file_unlinked(tmp_path):
    data = _write(tmp_path / "f", 2 * CHUNK)
    with open(tmp_path / "f", "rb") as fh:
        mapped = filemap.MappedFile(fh.fileno(), len(data))
    (tmp_path / "f").unlink()
    assert b"".join(asyncio.run(_collect(mapped, 0, len(data)))) == data

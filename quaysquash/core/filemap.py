"""Sending a complete file from a memory map without ever blocking the event loop on the disk.

A cached squash is immutable, so it can be mapped and its pages handed to the socket as
memoryviews: the only copy is the kernel's into the socket, like nginx with ``sendfile`` (no
read into a Python buffer first, no thread hop per chunk). Touching a page that is not in the
page cache would stall every download on the event loop while the disk answers, so each chunk's
pages are checked with ``mincore(2)`` first (one cheap syscall) and, if any is missing, faulted
in on a worker thread (``MADV_POPULATE_READ``) before the loop touches them.

Linux only (mincore through ctypes); :func:`available` says whether it can be used here, and
the caller falls back to ``pread`` on a thread otherwise.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import mmap
import sys
from collections.abc import AsyncIterator

PAGE = mmap.PAGESIZE
# Linux 5.14+: populate the page tables, reading from disk as needed, without copying.
MADV_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)


class _PyBuffer(ctypes.Structure):
    # The head of CPython's Py_buffer; only ``buf`` is read, the rest sizes the struct.
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


def _load_mincore():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        mincore = libc.mincore
    except (OSError, AttributeError):
        return None
    mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    mincore.restype = ctypes.c_int
    return mincore


_mincore = _load_mincore()

_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]


def available() -> bool:
    return _mincore is not None


def _address(buffer: mmap.mmap) -> int:
    """Where the mapping starts; stable for the life of the mmap object, which we hold."""
    view = _PyBuffer()
    if _get_buffer(buffer, ctypes.byref(view), 0) != 0:
        raise OSError("cannot get the address of the mapping")
    address = view.buf
    _release_buffer(ctypes.byref(view))
    return address


class MappedFile:
    """One read-only mapping of an immutable file, sent in chunks of memoryviews.

    The mapping holds its own duplicate of the descriptor (so the bytes stay readable) until
    the last memoryview handed out is released, i.e. until the server has sent those bytes.
    """

    def __init__(self, fd: int, size: int) -> None:
        self.size = size
        self.map = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else None
        self.base = _address(self.map) if self.map is not None else 0
        self.view = memoryview(self.map) if self.map is not None else memoryview(b"")
        self.faulted_in = 0  # chunks that were not resident: how often the disk was read

    def _resident(self, start: int, end: int, vector: ctypes.Array) -> bool:
        first = start - start % PAGE
        length = end - first
        pages = (length + PAGE - 1) // PAGE
        if _mincore(self.base + first, length, vector) != 0:
            return False
        return b"\x00" not in bytes(vector)[:pages]

    def _fault_in(self, start: int, end: int) -> None:
        first = start - start % PAGE
        try:
            self.map.madvise(MADV_POPULATE_READ, first, end - first)
        except OSError:
            # Kernels before 5.14: touching one byte per page faults it in just the same.
            for offset in range(first, end, PAGE):
                self.map[offset]

    async def chunks(self, start: int, end: int, chunk: int) -> AsyncIterator[memoryview]:
        vector = (ctypes.c_ubyte * (chunk // PAGE + 2))()
        loop = asyncio.get_running_loop()
        pos = start
        while pos < end:
            stop = min(pos + chunk, end)
            if not self._resident(pos, stop, vector):
                self.faulted_in += 1
                await loop.run_in_executor(None, self._fault_in, pos, stop)
            yield self.view[pos:stop]
            pos = stop

"""Executing a SquashPlan: read each needed layer once, sequentially, copy the planned byte
ranges to the output and compute the digests on the way.

The calling thread decompresses and slices; a writer thread hashes (merged layer and whole output),
optionally compresses, and writes. hashlib, ISA-L and zstd release the GIL, so on two cores the
squash runs close to the speed of plain decompression.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO

from . import blocks
from .archive import SquashPlan, SquashResult
from .decompress import LayerStream
from .errors import LayerCorruptError, SquashError
from .plan import OP_BYTES, OP_COPY, OP_SPARSE

_ZEROS = memoryview(bytes(1 << 20))
_LAYER_DONE = object()
_END = object()
PROGRESS_EVERY = 8 << 20
BATCH = 1 << 20


class _Writer(threading.Thread):
    def __init__(self, out: BinaryIO, compression: str, hash_layer: bool, hash_all: bool) -> None:
        super().__init__(name="squash-writer", daemon=True)
        self.out = out
        self.queue: queue.Queue = queue.Queue(maxsize=16)
        self.layer_hasher = hashlib.sha256() if hash_layer else None
        self.all_hasher = hashlib.sha256() if hash_all else None
        self.written = 0
        self.error: BaseException | None = None
        self.layer_digest: str | None = None
        self.layer_done = threading.Event()
        # Fixed-size blocks at fixed levels: the same squash is byte-identical on every build.
        self.compressor = blocks.compressor(compression)

    def _write(self, data) -> None:
        if self.compressor is not None:
            data = self.compressor.compress(data)
            if not data:
                return
        if self.all_hasher is not None:
            self.all_hasher.update(data)
        n = self.out.write(data)
        if n is not None and n < len(data):
            # Raw streams (sockets) may take part of a buffer: write the rest.
            view = memoryview(data)[n:]
            while view:
                n = self.out.write(view)
                if n is None:
                    break
                if n == 0:
                    raise BrokenPipeError("output accepts no more data")
                view = view[n:]
        self.written += len(data)

    def run(self) -> None:
        get = self.queue.get
        while True:
            item = get()
            if item is _END:
                break
            if self.error is not None:
                if item is _LAYER_DONE:
                    self.layer_done.set()
                continue
            try:
                if item is _LAYER_DONE:
                    if self.layer_hasher is not None:
                        self.layer_digest = "sha256:" + self.layer_hasher.hexdigest()
                    self.layer_done.set()
                    continue
                data, in_layer = item
                if in_layer and self.layer_hasher is not None:
                    self.layer_hasher.update(data)
                self._write(data)
            except BaseException as exc:
                self.error = exc
                self.layer_done.set()
        if self.error is None:
            try:
                if self.compressor is not None:
                    tail = self.compressor.flush()
                    self.compressor = None
                    if tail:
                        self._write(tail)
                flush = getattr(self.out, "flush", None)
                if flush is not None:
                    flush()
            except BaseException as exc:
                self.error = exc


class _Producer:
    """Hands data to the writer thread in batches of about BATCH bytes: every hand-over costs
    both threads a trip through the GIL, and many entries are small."""

    def __init__(self, writer: _Writer, progress: Callable[[int], None] | None) -> None:
        self.writer = writer
        self.progress = progress
        self.sent = 0
        self.next_progress = PROGRESS_EVERY
        self.pending: list = []
        self.pending_size = 0
        self.pending_layer = True

    def put(self, data, in_layer: bool) -> None:
        n = len(data)
        if not n:
            return
        if in_layer != self.pending_layer:
            self.flush()
            self.pending_layer = in_layer
        if n >= BATCH:
            self.flush()
            self._send(data, in_layer)
            return
        self.pending.append(data)
        self.pending_size += n
        if self.pending_size >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pending = self.pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self.pending = []
        self.pending_size = 0
        self._send(data, self.pending_layer)

    def _send(self, data, in_layer: bool) -> None:
        writer = self.writer
        if writer.error is not None:
            raise _WriterFailed()
        writer.queue.put((data, in_layer))
        self.sent += len(data)
        if self.progress is not None and self.sent >= self.next_progress:
            self.next_progress = self.sent + PROGRESS_EVERY
            self.progress(writer.written)

    def zeros(self, n: int) -> None:
        while n > 0:
            k = min(n, len(_ZEROS))
            self.put(_ZEROS[:k], True)
            n -= k


class _WriterFailed(Exception):
    pass


def write_squash(
    plan: SquashPlan,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
    *,
    hash_output: bool = True,
) -> SquashResult:
    """Write the planned output to ``out`` (anything with ``.write``). Deterministic.

    ``hash_output=False`` leaves ``result.sha256`` None (except for a plain rootfs, whose digest
    is the layer's): the output's sha256 is then the caller's job. The merged layer's diff_id
    is always computed, since the archive's config and manifest name it.
    """
    rootfs_plain = plan.format == "rootfs" and plan.compression == "none"
    hash_all = hash_output and not rootfs_plain
    writer = _Writer(out, plan.compression, hash_layer=True, hash_all=hash_all)
    producer = _Producer(writer, progress)
    writer.start()
    try:
        producer.put(plan.head, False)
        _stream_layer(plan, producer)
        producer.flush()
        writer.queue.put(_LAYER_DONE)
        writer.layer_done.wait()
        if writer.error is not None:
            raise _WriterFailed()
        diff_id = writer.layer_digest
        assert diff_id is not None
        tail = plan.render_tail(diff_id)
        if len(tail) != plan.tail_size:
            raise SquashError("internal error: archive metadata changed size")
        producer.put(tail, False)
        producer.flush()
    except _WriterFailed:
        pass
    except BaseException:
        writer.queue.put(_END)
        writer.join()
        raise
    writer.queue.put(_END)
    writer.join()
    if writer.error is not None:
        raise writer.error
    expected = plan.size
    if expected is not None and writer.written != expected:
        raise SquashError(f"internal error: wrote {writer.written} bytes, planned {expected}")
    if progress is not None:
        progress(writer.written)
    if rootfs_plain:
        total: str | None = diff_id
    elif writer.all_hasher is not None:
        total = "sha256:" + writer.all_hasher.hexdigest()
    else:
        total = None
    return SquashResult(size=writer.written, sha256=total, diff_id=diff_id)


def _stream_layer(plan: SquashPlan, producer: _Producer) -> None:
    layers = plan.layers
    current = -1
    stream: LayerStream | None = None

    def finish(stream: LayerStream, layer: int) -> None:
        size = stream.drain()
        expected = layers[layer].index.tar_size
        if size != expected:
            raise LayerCorruptError(
                layers[layer].digest,
                f"uncompressed size {size} differs from the indexed {expected}",
            )
        stream.close()

    put = producer.put
    try:
        for op in plan.layer.ops:
            code = op[0]
            if code == OP_BYTES:
                put(op[1], True)
                continue
            layer = op[1]
            if layer != current:
                if stream is not None:
                    finish(stream, current)
                current = layer
                stream = LayerStream(layers[layer].open_blob, layers[layer].digest)
            if code == OP_COPY:
                stream.skip_to(op[2])
                for chunk in stream.chunks(op[3]):
                    put(chunk, True)
            elif code == OP_SPARSE:
                _, _, data_off, map_len, segments, real, _stored = op
                stream.skip_to(data_off + map_len)
                at = 0
                for offset, length in segments:
                    if offset < at or offset + length > real:
                        raise LayerCorruptError(layers[layer].digest, "bad sparse map")
                    producer.zeros(offset - at)
                    for chunk in stream.chunks(length):
                        put(chunk, True)
                    at = offset + length
                producer.zeros(real - at + (-real % 512))
        if stream is not None:
            finish(stream, current)
            stream = None
    finally:
        if stream is not None:
            stream.close()

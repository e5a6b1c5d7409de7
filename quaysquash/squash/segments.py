"""The file the engine writes a squash into: a local scratch file, committed into the shared
storage as segments a follower on any host can read while later ones are written.

The engine's ``write`` calls go to the scratch file at once (small writes buffered, so 512-byte
tar headers are not each a syscall). A committer thread cuts the written bytes into segments:
one as soon as it has ``QS_SQUASH_SEGMENT_BYTES``, or whatever is waiting once
``QS_SQUASH_SEGMENT_SECONDS`` passed since the last cut (so the first bytes leave at once and a
slow phase still shows progress); then, in order, its end offset is published (Redis, the row).

How a segment is committed depends on the driver:

- **in place** (a driver whose objects are local files: the local driver, one disk or a
  directory every host mounts): the engine writes straight into the current segment's staged
  file; a cut closes it and hands it to ``Storage.commit_file`` (a rename) and opens the next.
  No byte is copied or hashed while the engine runs (copying each segment out of one scratch
  file, with the storage's hash, cost more CPU than the engine on 2 cores: cold pulls fell from
  0.9 to 0.6 of raw ISA-L). Closed before renamed, so a host mounting the directory over NFS
  sees complete segments (close-to-open). The finished object is then assembled by
  concatenating the segments (``LocalStorage.assemble``).
- **copied** (S3): the engine writes one scratch file; each segment is read back from it and
  written with one storage ``write`` (one PUT; up to three at once). The engine never waits for
  the storage: the scratch file absorbs a slow bucket, followers just lag behind. The scratch
  file stays until the build ends: it is hashed (sha256) and handed to ``Storage.assemble`` so
  that the finished object costs no second upload where it can be avoided.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from quaysquash.storage import Storage

# Followers see bytes only once they leave this buffer; large enough that the engine's many
# 512-byte tar headers don't each become a syscall.
WRITE_BUFFER = 256 * 1024
# Big pieces (file contents) go straight to the file instead of through the buffer's copy.
DIRECT_WRITE = 64 * 1024
# Segments uploaded at once: one stream to a bucket is slower than the engine writes.
PARALLEL_UPLOADS = 3
HARVEST = -1


class SegmentWriter:
    """A write-only file for the engine; ``close()`` returns once every byte is committed."""

    def __init__(
        self,
        storage: Storage,
        scratch: Path,
        key_of: Callable[[int], str],
        publish: Callable[[list[int]], None],
        *,
        segment_bytes: int,
        segment_seconds: float,
        max_rate: int = 0,
        parallel: int = PARALLEL_UPLOADS,
        in_place: bool | None = None,
    ) -> None:
        self.storage = storage
        self.scratch = scratch
        self.key_of = key_of
        self.publish = publish
        self.segment_bytes = max(1, segment_bytes)
        self.segment_seconds = segment_seconds
        self.max_rate = max_rate
        self.parallel = max(1, parallel)
        # Objects that are local files take a staged file by rename: no copy needed.
        self.in_place = storage.local_path(key_of(0)) is not None if in_place is None else in_place
        # In place: the file the engine writes, where it starts, and segments cut but not yet
        # committed (index, descriptor, end offset).
        self.current = 0
        self.cut_at = 0
        self.cuts: deque[tuple[int, int, int]] = deque()
        self.fd = os.open(self._file(0), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.buffer = bytearray()
        self.written = 0  # bytes in the scratch file
        self.ends: list[int] = []  # committed segments' end offsets
        self.keys: list[str] = []
        self.error: BaseException | None = None
        self.closing = False
        self.wake_at = 0  # the committer wants a notify once ``written`` reaches this
        self.started = time.monotonic()
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True, name="squash-segments")
        self.thread.start()

    @property
    def committed(self) -> int:
        return self.ends[-1] if self.ends else 0

    @property
    def local_copy(self) -> Path | None:
        """One local file holding every committed byte (for ``Storage.assemble``), if any."""
        return None if self.in_place else self.scratch

    def _file(self, index: int) -> Path:
        """The file the engine writes into: segment ``index``'s own file in place, else the
        one scratch file."""
        if not self.in_place:
            return self.scratch
        return self.scratch.with_name(f"{self.scratch.name}.{index:06d}")

    def sha256(self) -> str:
        """The digest of every committed byte (call after ``close``)."""
        hasher = hashlib.sha256()
        if self.in_place:
            for key in self.keys:
                with self.storage.open(key) as fh:
                    hashlib.file_digest(fh, lambda: hasher)
        else:
            with open(self.scratch, "rb") as fh:
                hashlib.file_digest(fh, lambda: hasher)
        return f"sha256:{hasher.hexdigest()}"

    # -- the engine's side -------------------------------------------------------------------

    def write(self, data) -> int:
        if self.error is not None:
            raise RuntimeError(f"committing the squash failed: {self.error!r}") from self.error
        n = len(data)
        with self.cond:
            if n >= DIRECT_WRITE:
                self._flush()  # keep the order: buffered headers first
                self._write_all(memoryview(data))
            else:
                self.buffer += data
                if len(self.buffer) >= WRITE_BUFFER:
                    self._flush()
        if self.max_rate:
            ahead = self.written / self.max_rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        return n

    def flush(self) -> None:
        with self.cond:
            self._flush()

    def _flush(self) -> None:
        if self.buffer:
            self._write_all(memoryview(self.buffer))
            self.buffer = bytearray()

    def _write_all(self, view: memoryview) -> None:
        while view:
            done = os.write(self.fd, view)
            view = view[done:]
            self.written += done
        if self.in_place and self.written - self.cut_at >= self.segment_bytes:
            self._cut()  # exact sizes: the engine cuts, the committer only renames
        elif self.written >= self.wake_at:
            self.cond.notify()

    def close(self) -> None:
        """Commit what is left and wait for it; raises if any commit failed."""
        with self.cond:
            self._flush()
            self.closing = True
            self.cond.notify()
        self.thread.join()
        self._drop_current()
        if self.error is not None:
            raise RuntimeError(f"committing the squash failed: {self.error!r}") from self.error

    def abort(self) -> None:
        with self.cond:
            self.closing = True
            self.error = self.error or RuntimeError("aborted")
            self.cond.notify()
        self.thread.join(timeout=30)
        self._drop_current()

    def _drop_current(self) -> None:
        """Close the file the engine was writing; in place it holds no committed byte (a cut
        takes the whole file), so it goes too."""
        with self.cond:
            fd, self.fd = self.fd, -1
        if fd < 0:
            return
        try:
            os.close(fd)
        except OSError:
            pass
        if self.in_place:
            self._file(self.current).unlink(missing_ok=True)

    # -- the committer -----------------------------------------------------------------------

    def _next_cut(self, start: int, last_cut: float, inflight: deque) -> int | None:
        """Wait (holding the condition) until a segment is due; its end, HARVEST when an upload
        finished, or None when everything is cut."""
        while True:
            if self.error is not None:
                return None
            if inflight and inflight[0][2].done():
                return HARVEST
            due = time.monotonic() - last_cut >= self.segment_seconds
            if due or self.closing:
                self._flush()  # bytes the engine left in its buffer become visible too
            waiting = self.written - start
            room = len(inflight) < self.parallel
            if room and (waiting >= self.segment_bytes or (waiting > 0 and (due or self.closing))):
                return start + min(waiting, self.segment_bytes)
            if self.closing and waiting == 0:
                return None
            if due:  # nothing waiting: the next byte is worth a cut of its own
                self.wake_at, timeout = start + 1, self.segment_seconds
            else:
                self.wake_at = start + self.segment_bytes
                timeout = self.segment_seconds - (time.monotonic() - last_cut)
            self.cond.wait(timeout=max(0.001, timeout))

    def _upload(self, key: str, start: int, end: int) -> None:
        data = os.pread(self.fd, end - start, start)
        self.storage.write(key, [data], durable=False)

    def _harvest(self, inflight: deque) -> None:
        """Publish finished uploads in order: a follower only learns of a segment once it and
        every earlier one are in the storage."""
        while inflight and inflight[0][2].done():
            end, key, future = inflight.popleft()
            future.result()  # raises the upload's error
            self.keys.append(key)
            self.ends.append(end)
            self.publish(list(self.ends))

    def _wake(self, _future) -> None:
        with self.cond:
            self.cond.notify()

    def _run(self) -> None:
        if self.in_place:
            self._run_in_place()
        else:
            self._run_copied()

    def _cut(self) -> None:
        """Close the segment being written (holding the condition): every byte written so far is
        in its file. The engine's next bytes go to a new file; the committer renames this one."""
        following = os.open(
            self._file(self.current + 1), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600
        )
        self.cuts.append((self.current, self.fd, self.written))
        self.fd, self.current, self.cut_at = following, self.current + 1, self.written
        self.cond.notify()

    def _next_cuts(self, last_cut: float) -> list[tuple[int, int, int]] | None:
        """Wait (holding the condition) for cut segments; None when everything is committed."""
        while True:
            if self.error is not None:
                return None
            due = time.monotonic() - last_cut >= self.segment_seconds
            if due or self.closing:
                self._flush()
            if not self.cuts and self.written > self.cut_at and (due or self.closing):
                self._cut()  # a slow phase, or the end: what is waiting leaves now
            if self.cuts:
                cuts = list(self.cuts)
                self.cuts.clear()
                return cuts
            if self.closing:
                return None
            # Size cuts are the engine's (in ``_write_all``); wake for the first byte or the timer.
            self.wake_at = self.cut_at + 1 if due else self.cut_at + self.segment_bytes
            timeout = (
                self.segment_seconds
                if due
                else self.segment_seconds - (time.monotonic() - last_cut)
            )
            self.cond.wait(timeout=max(0.001, timeout))

    def _run_in_place(self) -> None:
        last_cut = float("-inf")  # the first bytes leave at once
        try:
            while True:
                with self.cond:
                    cuts = self._next_cuts(last_cut)
                if cuts is None:
                    break
                for index, fd, end in cuts:
                    os.close(fd)
                    key = self.key_of(index)
                    try:
                        self.storage.commit_file(self._file(index), key, durable=False)
                    except BaseException:
                        self._file(index).unlink(missing_ok=True)
                        raise
                    self.keys.append(key)
                    self.ends.append(end)
                self.publish(list(self.ends))
                last_cut = time.monotonic()
        except BaseException as exc:  # the engine's next write raises it
            self.error = exc
        finally:  # cut but never committed (an error, an abort): nobody will rename them
            with self.cond:
                for index, fd, _end in self.cuts:
                    os.close(fd)
                    self._file(index).unlink(missing_ok=True)
                self.cuts.clear()

    def _run_copied(self) -> None:
        start, last_cut = 0, float("-inf")  # the first bytes leave at once
        inflight: deque = deque()
        pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="squash-upload")
        try:
            while True:
                with self.cond:
                    end = self._next_cut(start, last_cut, inflight)
                if end == HARVEST:
                    self._harvest(inflight)
                    continue
                if end is None:
                    break
                key = self.key_of(len(self.keys) + len(inflight))
                future = pool.submit(self._upload, key, start, end)
                inflight.append((end, key, future))
                future.add_done_callback(self._wake)
                start, last_cut = end, time.monotonic()
            for _end, _key, future in inflight:
                future.exception()  # wait for all
            self._harvest(inflight)
        except BaseException as exc:  # the engine's next write raises it
            self.error = exc
        finally:
            pool.shutdown(wait=True)

"""The local driver: objects as files under one root (a local disk, or a directory every host
mounts). Writes go to ``<root>/tmp/`` and are renamed into place, so a key's file is complete
or absent."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .base import ObjectInfo, Storage, check_key, remove_older
from .digests import HashedStream

TMP = "tmp"


class LocalStorage(Storage):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = self.path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return ObjectInfo(key, st.st_size, st.st_mtime)

    def open(self, key: str, offset: int = 0) -> BinaryIO:
        fh = open(self.path(key), "rb")
        if offset:
            fh.seek(offset)
        return fh

    def staging_dir(self) -> Path:
        path = self.root / TMP
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _publish(self, tmp: Path, key: str) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(tmp, final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another filesystem: copy next to the target first, then rename.
            fd, near = tempfile.mkstemp(dir=final.parent, prefix=".in-")
            os.close(fd)
            shutil.copyfile(tmp, near)
            os.replace(near, final)
            Path(tmp).unlink(missing_ok=True)

    def _store(self, key: str, stream: HashedStream, durable: bool) -> tuple[str, int]:
        fd, tmp = tempfile.mkstemp(dir=self.staging_dir(), prefix="w-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.writelines(stream)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            written = stream.verified()
            self._publish(Path(tmp), key)
            return written
        finally:
            Path(tmp).unlink(missing_ok=True)

    def commit_file(self, path: Path, key: str, *, durable: bool = True) -> None:
        check_key(key)
        if durable:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._publish(Path(path), key)

    def move(self, src: str, dest: str) -> None:
        self.commit_file(self.path(src), dest)

    def assemble(self, dest: str, parts: list[str], local_copy: Path | None = None) -> None:
        if local_copy is not None:
            self.commit_file(local_copy, dest)
            return
        fd, tmp = tempfile.mkstemp(dir=self.staging_dir(), prefix="a-")
        try:
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(self.path(part), "rb") as src:
                        _append(src, out)
                os.fsync(out.fileno())
            self._publish(Path(tmp), dest)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        # Drop directories left empty (sessions, segment sets), never the root.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == TMP or rel_dir.startswith(TMP + "/"):
                dirnames[:] = []
                continue
            for name in filenames:
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if not key.startswith(prefix) or name.startswith("."):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                yield ObjectInfo(key, st.st_size, st.st_mtime)

    def presigned_url(
        self, key: str, *, filename: str | None = None, content_type: str | None = None
    ) -> str | None:
        return None

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def cleanup(self, older_than: float) -> dict[str, int]:
        return {"tmp_removed": remove_older(self.staging_dir(), older_than)}


def _append(src: BinaryIO, out: BinaryIO) -> None:
    """Copy ``src`` to the end of ``out`` through user-space writes of 4 MiB.

    Not ``copy_file_range``: served from a memory map, a file that call assembled was 17 % slower
    to send (cached pulls of debian-app: 0.080 s against 0.067 s best, three alternating runs on
    ext4), presumably because its page cache is built of small folios; the copy costs the worker
    a few tens of milliseconds after the last byte, which no follower waits for."""
    src.seek(0)
    out.seek(0, os.SEEK_END)
    shutil.copyfileobj(src, out, 4 * 1024 * 1024)

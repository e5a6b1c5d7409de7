"""Test helpers for the squash engine: build layer tars, squash them, describe trees, and a
straightforward reference applier that extracts layers into a directory like an engine would."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from squashengine import (
    LayerInput,
    index_layer,
    plan_squash,
    write_squash,
)

MTIME = 1_700_000_000


def config_for(layers: list[LayerInput]) -> bytes:
    """An image config whose rootfs.diff_ids match ``layers`` (the engine checks them)."""
    diff_ids = ",".join(f'"{layer.index.diff_id}"' for layer in layers)
    return (
        b'{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},'
        b'"rootfs":{"type":"layers","diff_ids":[' + diff_ids.encode() + b']},"history":[]}'
    )


@dataclass
class E:
    """One tar entry to put in a test layer."""

    name: str | bytes
    type: str = "file"  # file dir symlink hardlink fifo char block
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    mtime: float = MTIME
    link: str | bytes = ""
    pax: dict = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
}


def _s(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def layer(*entries: E, compression: str = "none", fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A layer blob holding ``entries`` in order."""
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for e in entries:
            info = tarfile.TarInfo(_s(e.name))
            info.type = _TYPES[e.type]
            info.mode = e.mode if e.mode is not None else (0o755 if e.type == "dir" else 0o644)
            info.uid, info.gid = e.uid, e.gid
            info.mtime = e.mtime
            info.linkname = _s(e.link)
            info.devmajor, info.devminor = e.devmajor, e.devminor
            if e.pax:
                info.pax_headers = {_s(k): _s(v) for k, v in e.pax.items()}
            if e.type == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return compress(buf.getvalue(), compression)


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def decompress(blob: bytes) -> bytes:
    if blob[:2] == b"\x1f\x8b":
        return gzip.decompress(blob)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(blob)
    return blob


def digest_of(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def inputs(blobs: list[bytes]) -> list[LayerInput]:
    out = []
    for blob in blobs:
        digest = digest_of(blob)

        def opener(blob=blob):
            return io.BytesIO(blob)

        out.append(LayerInput(digest, opener, index_layer(opener, digest)))
    return out


def squash(blobs: list[bytes], format: str = "rootfs", **kwargs) -> tuple[bytes, object, object]:
    """(output bytes, plan, result) of squashing ``blobs``."""
    layers = inputs(blobs)
    plan = plan_squash(layers, config_for(layers), format=format, **kwargs)
    out = io.BytesIO()
    result = write_squash(plan, out)
    return out.getvalue(), plan, result


# -- describing trees ------------------------------------------------------------------------


def clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def tar_members(tar_bytes: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(
        fileobj=io.BytesIO(tar_bytes), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        return tar.getmembers()


def check_structure(tar_bytes: bytes) -> None:
    """Each path once, parents before children, hardlink targets before links, no whiteouts."""
    seen: dict[str, tarfile.TarInfo] = {}
    for m in tar_members(tar_bytes):
        path = clean(m.name)
        assert path not in seen, f"{path!r} appears twice"
        base = path.rsplit("/", 1)[-1]
        assert not base.startswith(".wh."), f"whiteout {path!r} in output"
        parts = path.split("/")
        for k in range(1, len(parts)):
            parent = "/".join(parts[:k])
            if parent in seen:
                assert seen[parent].isdir(), f"{path!r} under non-directory {parent!r}"
        if m.islnk():
            target = clean(m.linkname)
            assert target in seen, f"hardlink {path!r} before its target {target!r}"
            assert seen[target].isreg(), f"hardlink {path!r} to non-file {target!r}"
        seen[path] = m
    # parents before children (for parents that have an entry)
    order = {clean(m.name): i for i, m in enumerate(tar_members(tar_bytes))}
    for path, i in order.items():
        if "/" in path:
            parent = path.rsplit("/", 1)[0]
            if parent in order:
                assert order[parent] < i, f"{path!r} before its parent"


def describe_dir(root: Path, mtimes: bool = True) -> dict[str, tuple]:
    """path -> (kind, mode, uid, gid, mtime_ns, content/target, hardlink group, xattrs)."""
    out: dict[str, tuple] = {}
    inodes: dict[int, list[str]] = {}
    root_s = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(root_s):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root_s)
            st = os.lstat(full)
            fmt = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(fmt):
                with open(full, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
                inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(fmt):
                content = os.fsdecode(os.readlink(full))
            elif stat.S_ISCHR(fmt) or stat.S_ISBLK(fmt):
                content = (os.major(st.st_rdev), os.minor(st.st_rdev))
            else:
                content = None
            try:
                xattrs = tuple(
                    sorted(
                        (k, os.getxattr(full, k, follow_symlinks=False))
                        for k in os.listxattr(full, follow_symlinks=False)
                    )
                )
            except OSError:
                xattrs = ()
            out[rel] = [
                fmt,
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns if mtimes else 0,
                content,
                None,
                xattrs,
            ]
    for names in inodes.values():
        group = tuple(sorted(os.fsdecode(n) for n in names)) if len(names) > 1 else None
        for rel in names:
            out[rel][6] = group
    return {k.decode("utf-8", "surrogateescape"): tuple(v) for k, v in out.items()}


# -- reference applier -----------------------------------------------------------------------


def _remove(path: bytes) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_layers(blobs: list[bytes], root: Path) -> None:
    """Extract layers into ``root`` the way a container engine applies them."""
    root_b = os.fsencode(root)
    dir_meta: dict[bytes, tarfile.TarInfo] = {}
    for blob in blobs:
        members_data = []
        raw = decompress(blob)
        if not raw:
            continue
        with tarfile.open(
            fileobj=io.BytesIO(raw),
            mode="r:",
            encoding="utf-8",
            errors="surrogateescape",
        ) as tar:
            for m in tar.getmembers():
                data = tar.extractfile(m).read() if m.isreg() else None
                members_data.append((m, data))
        # 1. whiteouts and opaque markers act on the lower layers only
        for m, _ in members_data:
            path = os.fsencode(clean(m.name))
            parent, _, base = path.rpartition(b"/")
            if _through_symlink(root_b, path):
                continue  # whiteouts are path-based: never act through a symlink
            if base == b".wh..wh..opq":
                d = os.path.join(root_b, parent) if parent else root_b
                if os.path.isdir(d) and not os.path.islink(d):
                    for child in os.listdir(d):
                        _remove(os.path.join(d, child))
                        _forget(dir_meta, os.path.join(parent, child) if parent else child)
            elif base.startswith(b".wh..wh."):
                continue
            elif base.startswith(b".wh."):
                target = (parent + b"/" if parent else b"") + base[4:]
                _remove(os.path.join(root_b, target))
                _forget(dir_meta, target)
        # 2. entries in order; every parent an entry needs is a directory of this layer
        made: dict[bytes, bool] = {}  # what this layer has put at a path: is it a directory
        for m, data in members_data:
            path = os.fsencode(clean(m.name))
            base = path.rpartition(b"/")[2]
            if base.startswith(b".wh..wh.") and base != b".wh..wh..opq":
                continue
            _make_parents(root_b, path, made, dir_meta)
            if base.startswith(b".wh."):
                continue
            if not (m.isdir() and made.get(path)):
                # It replaces whatever this layer had there, and all of that under it.
                for key in [k for k in made if k.startswith(path + b"/")]:
                    del made[key]
            made[path] = m.isdir()
            dest = os.path.join(root_b, path) if path else root_b
            if m.isdir():
                if os.path.lexists(dest) and not (os.path.isdir(dest) and not os.path.islink(dest)):
                    _remove(dest)
                os.makedirs(dest, exist_ok=True)
                dir_meta[path] = m
                continue
            if os.path.lexists(dest):
                _remove(dest)
                _forget(dir_meta, path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if m.isreg():
                with open(dest, "wb") as f:
                    f.write(data)
            elif m.issym():
                os.symlink(os.fsencode(m.linkname), dest)
            elif m.islnk():
                os.link(os.path.join(root_b, os.fsencode(clean(m.linkname))), dest)
                continue  # shares the target's inode and attributes
            elif m.isfifo():
                os.mkfifo(dest)
            elif m.ischr() or m.isblk():
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(dest, kind | 0o600, os.makedev(m.devmajor, m.devminor))
            _attrs(dest, m)
    # directory attributes last (creating children changes a directory's mtime)
    for dirpath, dirnames, _ in os.walk(root_b, topdown=False):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                continue
            rel = os.path.relpath(full, root_b)
            meta = dir_meta.get(rel)
            if meta is not None:
                _attrs(full, meta)
            else:
                os.chmod(full, 0o755)
                os.utime(full, ns=(0, 0))


def _make_parents(root_b: bytes, path: bytes, made: dict, dir_meta: dict) -> None:
    """Docker's overlay2 rule: a parent the layer leaves out is created in the layer, 0755
    root:root, hiding the lower directory's attributes or replacing a lower non-directory."""
    parts = path.split(b"/")[:-1]
    for k in range(1, len(parts) + 1):
        anc = b"/".join(parts[:k])
        if anc in made:
            if not made[anc]:
                raise AssertionError(f"{path!r} under a non-directory of its own layer")
            continue
        full = os.path.join(root_b, anc)
        if os.path.isdir(full) and not os.path.islink(full):
            os.lchown(full, 0, 0)
            os.chmod(full, 0o755)
            for key in os.listxattr(full, follow_symlinks=False):
                os.removexattr(full, key, follow_symlinks=False)
        else:
            if os.path.lexists(full):
                _remove(full)
            os.mkdir(full)
        dir_meta.pop(anc, None)
        made[anc] = True


def _through_symlink(root_b: bytes, path: bytes) -> bool:
    parts = path.split(b"/")[:-1]
    for k in range(1, len(parts) + 1):
        if os.path.islink(os.path.join(root_b, b"/".join(parts[:k]))):
            return True
    return False


def _forget(dir_meta: dict, path: bytes) -> None:
    prefix = path + b"/"
    for key in [k for k in dir_meta if k == path or k.startswith(prefix)]:
        del dir_meta[key]


def _attrs(dest: bytes, m: tarfile.TarInfo) -> None:
    os.lchown(dest, m.uid, m.gid)
    for key, value in m.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            os.setxattr(
                dest,
                key[len("SCHILY.xattr.") :],
                value.encode("utf-8", "surrogateescape"),
                follow_symlinks=False,
            )
    if not m.issym():
        os.chmod(dest, m.mode & 0o7777)
    mtime = m.pax_headers.get("mtime")
    ns = _ns(mtime) if mtime else int(m.mtime) * 1_000_000_000
    os.utime(dest, ns=(ns, ns), follow_symlinks=False)


def _ns(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def reference_tree(blobs: list[bytes], tmp: Path, name: str = "ref") -> dict[str, tuple]:
    root = tmp / name
    root.mkdir()
    apply_layers(blobs, root)
    return describe_dir(root)


def squashed_tree(blobs: list[bytes], tmp: Path, name: str = "sq") -> dict[str, tuple]:
    out, _plan, _result = squash(blobs)
    check_structure(out)
    return reference_tree([out], tmp, name)

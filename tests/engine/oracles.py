"""Independent oracles: a real dockerd (load, create, export), umoci (raw unpack) and helpers to
describe what they produce."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from squashengine.layoutwriter import write_image_layout

from .layerkit import clean, decompress, describe_dir

# Paths the engine's init layer adds to every container: not the image's business.
DOCKER_INIT = {
    ".dockerenv",
    "dev",
    "dev/console",
    "dev/pts",
    "dev/shm",
    "etc",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "sys",
}

IMAGE_CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Cmd": ["/nothing"], "Env": ["A=1"]},
}


def layered_docker_archive(blobs: list[bytes], tag: str) -> bytes:
    """A ``docker save``-style archive of the layers as they are (one layer per blob)."""
    config = dict(IMAGE_CONFIG)
    diff_ids = ["sha256:" + hashlib.sha256(decompress(b)).hexdigest() for b in blobs]
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config["history"] = [{"created_by": f"layer {i}"} for i in range(len(blobs))]
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    files = [(config_name, config_bytes)]
    names = []
    for i, blob in enumerate(blobs):
        name = f"layer{i}/layer.tar"
        names.append(name)
        files.append((name, decompress(blob)))
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": names}]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def describe_tar(tar_bytes: bytes, exclude: set[str] = frozenset()) -> dict[str, tuple]:
    """path -> (type, mode, uid, gid, mtime, content/target/device, hardlink group, xattrs)."""
    out: dict[str, list] = {}
    parent: dict[str, str] = {}

    def find(p: str) -> str:
        while parent.get(p, p) != p:
            p = parent[p]
        return p

    with tarfile.open(
        fileobj=io.BytesIO(tar_bytes), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for m in tar:
            path = clean(m.name)
            if path in exclude or not path:
                continue
            xattrs = tuple(
                sorted((k, v) for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr."))
            )
            if m.islnk():
                target = clean(m.linkname)
                parent[path] = find(target)
                content = out[target][5] if target in out else None
                kind = "0"
                mode, uid, gid, mtime = out[target][1:5] if target in out else (0, 0, 0, 0)
            else:
                kind = m.type.decode() if m.type != tarfile.AREGTYPE else "0"
                mode, uid, gid, mtime = m.mode & 0o7777, m.uid, m.gid, int(m.mtime)
                if m.isreg():
                    content = hashlib.sha256(tar.extractfile(m).read()).hexdigest()
                elif m.issym():
                    content = m.linkname
                elif m.ischr() or m.isblk():
                    content = (m.devmajor, m.devminor)
                else:
                    content = None
            out[path] = [kind, mode, uid, gid, mtime, content, None, xattrs]
    groups: dict[str, list[str]] = {}
    for path in parent:
        groups.setdefault(find(path), []).append(path)
    for root, members in groups.items():
        group = tuple(sorted([root, *members]))
        for p in group:
            if p in out:
                out[p][6] = group
    return {k: tuple(v) for k, v in out.items()}


def docker_export(dockerd, image: str) -> dict[str, tuple]:
    cid = (
        dockerd.docker("create", "--pull", "never", "--network", "none", image)
        .stdout.decode()
        .strip()
    )
    try:
        exported = dockerd.docker("export", cid).stdout
    finally:
        dockerd.docker("rm", "-f", cid, check=False)
    return describe_tar(exported, DOCKER_INIT)


def oci_layout_of_layers(blobs: list[bytes], root: Path, ref: str) -> None:
    """An OCI image layout holding the layers as they are (zstd ones decompressed: umoci does
    not read zstd layers)."""
    diff_ids = ["sha256:" + hashlib.sha256(decompress(b)).hexdigest() for b in blobs]
    config = dict(IMAGE_CONFIG, rootfs={"type": "layers", "diff_ids": diff_ids})
    stored = [decompress(b) if b[:4] == b"\x28\xb5\x2f\xfd" else b for b in blobs]
    write_image_layout(root, stored, config, ref)


def extract_archive(archive: bytes, root: Path) -> None:
    root.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        tar.extractall(root, filter="tar")


def umoci_unpack(umoci: str, layout: Path, ref: str, dest: Path) -> dict[str, tuple]:
    bundle_root = dest
    result = subprocess.run(
        [umoci, "raw", "unpack", "--image", f"{layout}:{ref}", str(bundle_root)],
        capture_output=True,
        env={**os.environ, "HOME": str(dest.parent)},
    )
    if result.returncode != 0:
        raise AssertionError(f"umoci raw unpack failed: {result.stderr.decode()}")
    return describe_dir(bundle_root)


def created_at_load(want: dict, got: dict, since: int) -> tuple[dict, dict]:
    """``(want, got)`` without the mtimes of the directories the engine created while loading
    the layered image (a parent a layer leaves out gets the load time): the squash writes those
    directories itself with mtime 0, which is checked here before both are blanked."""
    want, got = dict(want), dict(got)
    for path, entry in want.items():
        if entry[0] == "5" and entry[4] >= since and path in got:
            assert got[path][4] == 0, f"{path}: mtime {got[path][4]}, expected the implied 0"
            want[path] = entry[:4] + (None,) + entry[5:]
            got[path] = got[path][:4] + (None,) + got[path][5:]
    return want, got


# What podman adds to every container (and, for directories, stamps with the time of creation).
PODMAN_INIT = DOCKER_INIT | {"run", "run/.containerenv", "etc/passwd", "etc/group"}


class Podman:
    """A private podman store (root, runroot under /tmp: podman wants a short runroot) using
    one storage driver; ``export`` describes a fresh container's filesystem."""

    def __init__(self, podman: str, driver: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="qspm-", dir="/tmp"))
        self.base = [podman, "--root", str(self.dir / "root"), "--runroot", str(self.dir / "run")]
        self.base += ["--storage-driver", driver]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.base, *args], capture_output=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"podman {args} failed: {result.stderr.decode()}")
        return result

    def load(self, archive: bytes) -> subprocess.CompletedProcess:
        path = self.dir / "load.tar"
        path.write_bytes(archive)
        try:
            return self.run("load", "-i", str(path), check=False)
        finally:
            path.unlink()

    def export(self, image: str) -> dict[str, tuple]:
        cid = self.run("create", "--network", "none", image, "/nothing").stdout.decode().strip()
        try:
            return describe_tar(self.run("export", cid).stdout, PODMAN_INIT)
        finally:
            self.run("rm", "-f", cid, check=False)

    def close(self) -> None:
        self.run("system", "reset", "--force", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

"""A tiny, real, runnable demo image built from Debian's statically linked busybox.

Used by ``seed_demo`` when the shared test image is absent (a fresh clone without ``../shared``).
The layout is reproducible: the same busybox binary always gives the same digests, so seeding
twice imports the same manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

BUSYBOX_PATHS = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
BUSYBOX_PACKAGE = "busybox-static"
# Applets a user is likely to try in `docker run <image> ...`; everything else is `busybox <x>`.
APPLETS = ("sh", "echo", "ls", "cat", "env", "uname", "id", "true", "false", "sleep", "wget")
ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REF_NAME = "v1"
# platform.machine() names to OCI architecture names (the binary is the host's own).
OCI_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


class DemoImageError(RuntimeError):
    pass


def is_static_elf(path: Path) -> bool:
    """True if ``path`` is an ELF executable without a program interpreter (statically linked).

    A dynamically linked busybox would not run in an image that has no libc.
    """
    with open(path, "rb") as fh:
        header = fh.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
            return False
        endian = "<" if header[5] == 1 else ">"
        (phoff,) = struct.unpack_from(endian + "Q", header, 0x20)
        phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
        for index in range(phnum):
            fh.seek(phoff + index * phentsize)
            (p_type,) = struct.unpack(endian + "I", fh.read(4))
            if p_type == 3:  # PT_INTERP
                return False
    return True


def find_static_busybox() -> Path | None:
    for path in BUSYBOX_PATHS:
        if path.is_file() and is_static_elf(path):
            return path
    return None


def ensure_static_busybox() -> Path:
    """The static busybox binary, installing Debian's ``busybox-static`` when running as root."""
    found = find_static_busybox()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DemoImageError(
            f"a statically linked busybox is needed for the demo image: "
            f"run `apt-get install {BUSYBOX_PACKAGE}` as root"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", BUSYBOX_PACKAGE],
        env=env,
        capture_output=True,
        text=True,
    )
    found = find_static_busybox()
    if found is None:
        raise DemoImageError(
            f"installing {BUSYBOX_PACKAGE} failed:\n{(result.stdout + result.stderr)[-2000:]}"
        )
    return found


def _layer_tar(busybox: Path) -> bytes:
    buf = io.BytesIO()
    # Fixed owner, mode and mtime make the layer byte-for-byte reproducible.
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            tar.addfile(info)

        for name in ("bin", "etc", "root", "tmp"):
            add_dir(name, 0o1777 if name == "tmp" else 0o755)
        data = busybox.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            link.mode = 0o777
            tar.addfile(link)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ):
            payload = text.encode()
            entry = tarfile.TarInfo(name)
            entry.size = len(payload)
            entry.mode = 0o644
            tar.addfile(entry, io.BytesIO(payload))
    return buf.getvalue()


def _write_blob(blobs: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}"


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def build_busybox_layout(dest: Path, busybox: Path | None = None) -> Path:
    """Write an OCI image layout (tag ``v1``) of a busybox image into ``dest`` and return it.

    ``docker run <image> busybox echo hi`` (and ``echo hi``) works in the result.
    """
    busybox = busybox or ensure_static_busybox()
    dest = Path(dest)
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    layer = _layer_tar(busybox)
    diff_id = f"sha256:{hashlib.sha256(layer).hexdigest()}"
    # mtime=0 and no file name in the gzip header keep the compressed digest stable.
    compressed = gzip.compress(layer, compresslevel=9, mtime=0)
    layer_digest = _write_blob(blobs, compressed)

    arch = OCI_ARCH.get(platform.machine(), platform.machine())
    config = {
        "architecture": arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": [ENV_PATH], "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "quaysquash demo image"}],
    }
    config_bytes = _canonical_json(config)
    config_digest = _write_blob(blobs, config_bytes)

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest,
                "size": len(compressed),
            }
        ],
    }
    manifest_bytes = _canonical_json(manifest)
    manifest_digest = _write_blob(blobs, manifest_bytes)

    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": REF_NAME},
                "platform": {"architecture": arch, "os": "linux"},
            }
        ],
    }
    (dest / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (dest / "index.json").write_bytes(_canonical_json(index))
    return dest

"""A tiny, real, runnable demo image built from Debian's statically linked busybox.

Used by ``seed_demo`` when the shared test image is absent (a fresh clone without ``../shared``).
The layout is reproducible: the same busybox binary always gives the same digests, so seeding
twice imports the same manifest.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

from squashengine.layoutwriter import add_file, gzip_layer, image_config, write_image_layout

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
        add_file(tar, "bin/busybox", busybox.read_bytes(), mode=0o755)
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
            add_file(tar, name, text.encode())
    return buf.getvalue()


def build_busybox_layout(dest: Path, busybox: Path | None = None) -> Path:
    """Write an OCI image layout (tag ``v1``) of a busybox image into ``dest`` and return it.

    ``docker run <image> busybox echo hi`` (and ``echo hi``) works in the result.
    """
    busybox = busybox or ensure_static_busybox()
    layer = _layer_tar(busybox)
    diff_id = f"sha256:{hashlib.sha256(layer).hexdigest()}"
    arch = OCI_ARCH.get(platform.machine(), platform.machine())
    config = image_config(
        [diff_id],
        arch=arch,
        created="1970-01-01T00:00:00Z",
        config={"Env": [ENV_PATH], "Cmd": ["sh"], "WorkingDir": "/"},
        history=[{"created": "1970-01-01T00:00:00Z", "created_by": "quaysquash demo image"}],
    )
    platform_desc = {"architecture": arch, "os": "linux"}
    return write_image_layout(dest, [gzip_layer(layer)], config, REF_NAME, platform_desc)

"""The generated image of the squash engine benchmark: an OCI layout of gzip layers (about
1 GiB with the defaults: 100k files in 10 layers) with overwrites, whiteouts and opaque
directories, reproducible from its seed."""

from __future__ import annotations

import hashlib
import random
import tarfile
from pathlib import Path

from isal import igzip

from squashengine.layoutwriter import LayoutWriter, image_config


def generate_image(root: Path, files: int, layers: int, seed: int = 42) -> Path:
    """An OCI layout of ``layers`` gzip layers holding ``files`` files (about 1 GiB)."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))
        for _ in range(2000)
    ]
    text = " ".join(rng.choices(vocab, k=2_600_000)).encode()  # ~16 MB of compressible text
    noise = rng.randbytes(4 << 20)
    writer = LayoutWriter(root)
    per_layer = files // layers
    existing: list[str] = []
    descriptors = []
    diff_ids = []

    for k in range(layers):
        tar_path = root / f"layer{k}.tar"
        with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
            mtime = 1_700_000_000 + k

            def add_dir(name: str, tar=tar, mtime=mtime) -> None:
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = mtime
                tar.addfile(info)

            def add_file(name: str, tar=tar, mtime=mtime) -> None:
                if rng.random() < 0.95:
                    size = rng.randint(512, 8192)
                else:
                    size = rng.randint(32 << 10, 230 << 10)
                src = noise if rng.random() < 0.15 else text
                off = rng.randrange(0, len(src) - size)
                info = tarfile.TarInfo(name)
                info.size = size
                info.mode = 0o644
                info.mtime = mtime
                tar.addfile(info, _Slice(src, off, size))

            add_dir("data")
            add_dir(f"data/l{k}")
            new = []
            for d in range(100):
                add_dir(f"data/l{k}/d{d}")
                for f in range(per_layer // 100):
                    name = f"data/l{k}/d{d}/f{f}.txt"
                    add_file(name)
                    new.append(name)
            if existing:
                # upper layers rewrite 5% of lower files, delete 2%, make one directory opaque
                for name in rng.sample(existing, len(existing) // 20 // max(k, 1)):
                    add_file(name)
                for name in rng.sample(existing, len(existing) // 50 // max(k, 1)):
                    head, _, base = name.rpartition("/")
                    info = tarfile.TarInfo(f"{head}/.wh.{base}")
                    tar.addfile(info)
                victim = f"data/l{k - 1}/d{rng.randrange(100)}"
                add_dir(victim)
                tar.addfile(tarfile.TarInfo(f"{victim}/.wh..wh..opq"))
            existing.extend(new)
        raw = tar_path.read_bytes()
        tar_path.unlink()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descriptors.append(writer.layer(igzip.compress(raw, compresslevel=2)))

    config = image_config(diff_ids, config={"Cmd": ["/bin/sh"]})
    return writer.finish({"latest": writer.manifest(config, descriptors)})


class _Slice:
    def __init__(self, data: bytes, off: int, size: int) -> None:
        self.view = memoryview(data)[off : off + size]
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.view) - self.pos
        chunk = self.view[self.pos : self.pos + n]
        self.pos += len(chunk)
        return bytes(chunk)

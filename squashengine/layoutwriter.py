"""Write OCI image layouts (``oci-layout``, ``index.json``, ``blobs/<algo>/<hex>``).

The one writer of layouts for the demo image, the benches and the tests. Every JSON document
is written as canonical JSON (sorted keys, no spaces), so the same input always gives the same
digests. Readers live in ``sources.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = OCI_LAYER + "+gzip"
OCI_LAYER_ZSTD = OCI_LAYER + "+zstd"
REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def layer_media_type(blob_head: bytes) -> str:
    """The OCI layer media type of a blob, from its first bytes (gzip, zstd or plain tar)."""
    if blob_head.startswith(b"\x1f\x8b"):
        return OCI_LAYER_GZIP
    if blob_head.startswith(b"\x28\xb5\x2f\xfd"):
        return OCI_LAYER_ZSTD
    return OCI_LAYER


def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644, mtime: int = 0):
    """Add a regular file to ``tar`` with a fixed owner and mtime (reproducible bytes)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = mtime
    tar.addfile(info, io.BytesIO(data))


def layer_tar(files: dict[str, bytes], mtime: int = 0) -> bytes:
    """A plain PAX tar of regular files ``{path: content}``, in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            add_file(tar, name, content, mtime=mtime)
    return buf.getvalue()


def gzip_layer(plain: bytes) -> bytes:
    """gzip with mtime 0 and no file name, so the compressed digest is stable."""
    return gzip.compress(plain, compresslevel=9, mtime=0)


def image_config(
    diff_ids: list[str], arch: str = "amd64", os_name: str = "linux", **fields: object
) -> dict:
    """A minimal image config for ``diff_ids`` (one history entry per layer unless given)."""
    config: dict = {"architecture": arch, "os": os_name, "config": {}}
    config.update(fields)
    config["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids)}
    config.setdefault("history", [{"created_by": f"layer {i}"} for i in range(len(diff_ids))])
    return config


class LayoutWriter:
    """Blobs, manifests and indexes written into one layout directory; ``finish`` writes
    ``index.json`` naming the top-level entries."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_bytes(canonical_json(LAYOUT_VERSION))

    def blob(self, data: bytes, media_type: str) -> dict:
        """Store ``data``; its descriptor."""
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def link(self, path: Path, digest: str, media_type: str) -> dict:
        """Hardlink the file at ``path`` (whose sha256 is ``digest``) in as a blob, uncopied."""
        target = self.blobs / digest.split(":", 1)[1]
        if not target.exists():
            os.link(path, target)
        return {"mediaType": media_type, "digest": digest, "size": os.path.getsize(path)}

    def layer(self, blob: bytes) -> dict:
        """Store a layer blob, its media type read from its first bytes."""
        return self.blob(blob, layer_media_type(blob[:4]))

    def manifest(self, config: dict | bytes, layers: Iterable[dict], **extra: object) -> dict:
        """Store ``config`` and an image manifest of it and ``layers`` (descriptors)."""
        raw = config if isinstance(config, bytes) else canonical_json(config)
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(raw, OCI_CONFIG),
            "layers": list(layers),
            **extra,
        }
        return self.blob(canonical_json(doc), OCI_MANIFEST)

    def index(self, manifests: Iterable[dict]) -> dict:
        """Store an image index of ``manifests`` (descriptors, with ``platform`` if wanted)."""
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(manifests)}
        return self.blob(canonical_json(doc), OCI_INDEX)

    def finish(self, entries: dict[str, dict] | Iterable[dict]) -> Path:
        """Write ``index.json``: ``{ref: descriptor}`` names each entry, a list names none."""
        if isinstance(entries, dict):
            named = [{**d, "annotations": {REF_NAME: ref}} for ref, d in entries.items()]
        else:
            named = list(entries)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": named}
        (self.root / "index.json").write_bytes(canonical_json(index))
        return self.root


def write_image_layout(
    root: Path | str,
    layers: Iterable[bytes],
    config: dict | bytes,
    ref: str | None = "latest",
    platform: dict | None = None,
) -> Path:
    """A layout of one image: the layer blobs as they are, ``config``, tagged ``ref``."""
    writer = LayoutWriter(root)
    desc = writer.manifest(config, [writer.layer(b) for b in layers])
    if platform:
        desc["platform"] = platform
    return writer.finish({ref: desc} if ref is not None else [desc])

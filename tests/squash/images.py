"""Tiny OCI image layouts built on the spot, for tests that must own their blobs (corruption)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from squashengine.layoutwriter import gzip_layer, image_config, layer_tar, write_image_layout


def make_layout(
    layout: Path, layers: list[dict[str, bytes]], ref: str = "latest", arch: str = "amd64"
) -> Path:
    """An OCI image layout with one image of ``layers`` (each a {path: content} dict)."""
    plains = [layer_tar(files, mtime=1_700_000_000) for files in layers]
    config = image_config(
        ["sha256:" + hashlib.sha256(p).hexdigest() for p in plains],
        arch=arch,
        config={"Cmd": ["/bin/sh"]},
        history=[{"created_by": "test"} for _ in layers],
    )
    return write_image_layout(layout, [gzip_layer(p) for p in plains], config, ref)


def layer_digests(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    return [layer["digest"] for layer in manifest["layers"]]

"""Tiny OCI image layouts made in Python: a multi-platform index for ``skopeo copy --all``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from squashengine.layoutwriter import LayoutWriter, gzip_layer, image_config, layer_tar


def _layer(text: str, payload: bytes = b"") -> tuple[bytes, str]:
    raw = layer_tar({"hello.txt": text.encode() + payload})
    return gzip_layer(raw), "sha256:" + hashlib.sha256(raw).hexdigest()


def multi_platform_layout(
    layout: Path, platforms=(("linux", "amd64"), ("linux", "arm64")), payload: bytes = b""
):
    """Write an OCI layout whose ``latest`` is an index of one tiny image per platform
    (each layer carrying ``payload`` too, to make it as large as wanted).

    Returns the index bytes (what the registry must hand back unchanged).
    """
    writer = LayoutWriter(layout)
    children = []
    for os_name, arch in platforms:
        layer, diff_id = _layer(f"hello from {os_name}/{arch}\n", payload)
        config = image_config([diff_id], arch=arch, os_name=os_name, config={"Cmd": ["/hello"]})
        child = writer.manifest(config, [writer.layer(layer)])
        children.append({**child, "platform": {"architecture": arch, "os": os_name}})
    index = writer.index(children)
    writer.finish({"latest": index})
    return (writer.blobs / index["digest"].split(":")[1]).read_bytes()

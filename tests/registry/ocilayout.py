"""Tiny OCI image layouts made in Python: a multi-platform index for ``skopeo copy --all``."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

from quaysquash.registry import mediatypes


def _write_blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layer(text: str, payload: bytes = b"") -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode() + payload
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def multi_platform_layout(
    layout: Path, platforms=(("linux", "amd64"), ("linux", "arm64")), payload: bytes = b""
):
    """Write an OCI layout whose ``latest`` is an index of one tiny image per platform
    (each layer carrying ``payload`` too, to make it as large as wanted).

    Returns the index bytes (what the registry must hand back unchanged).
    """
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    children = []
    for os_name, arch in platforms:
        layer, diff_id = _layer(f"hello from {os_name}/{arch}\n", payload)
        layer_desc = _write_blob(layout, layer)
        config = json.dumps(
            {
                "architecture": arch,
                "os": os_name,
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "config": {"Cmd": ["/hello"]},
            },
            sort_keys=True,
        ).encode()
        config_desc = _write_blob(layout, config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": mediatypes.OCI_MANIFEST,
                "config": {"mediaType": mediatypes.OCI_CONFIG, **config_desc},
                "layers": [{"mediaType": mediatypes.OCI_LAYER_GZIP, **layer_desc}],
            }
        ).encode()
        children.append(
            {
                "mediaType": mediatypes.OCI_MANIFEST,
                **_write_blob(layout, manifest),
                "platform": {"architecture": arch, "os": os_name},
            }
        )
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": children}
    ).encode()
    index_desc = _write_blob(layout, index)
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": mediatypes.OCI_INDEX,
                        **index_desc,
                        "annotations": {"org.opencontainers.image.ref.name": "latest"},
                    }
                ],
            }
        )
    )
    return index

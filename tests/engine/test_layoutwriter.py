"""The one OCI layout writer: what it writes is a valid layout (skopeo checks every digest while
copying it), the same input gives the same bytes, and the engine reads it back."""

from __future__ import annotations

import hashlib
import json
import subprocess

from squashengine import open_image_tree, open_source
from squashengine.layoutwriter import (
    LayoutWriter,
    gzip_layer,
    image_config,
    layer_tar,
    write_image_layout,
)
from tests.support.tools import require


def _multi(root):
    writer = LayoutWriter(root)
    children = []
    for arch in ("amd64", "arm64"):
        plain = layer_tar({"hello.txt": f"hello {arch}\n".encode()})
        config = image_config(["sha256:" + hashlib.sha256(plain).hexdigest()], arch=arch)
        child = writer.manifest(config, [writer.layer(gzip_layer(plain))])
        children.append({**child, "platform": {"os": "linux", "architecture": arch}})
    return writer.finish({"latest": writer.index(children), "amd": children[0]})


def test_it_writes_a_layout_skopeo_copies_with_every_platform(tmp_path):
    layout = _multi(tmp_path / "multi")
    subprocess.run(
        [require("skopeo"), "copy", "--all", f"oci:{layout}:latest", f"oci:{tmp_path / 'c'}:x"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    copied = json.loads((tmp_path / "c" / "index.json").read_text())["manifests"][0]
    index = json.loads((layout / "index.json").read_text())["manifests"]
    assert copied["digest"] == next(
        d["digest"]
        for d in index
        if d["annotations"]["org.opencontainers.image.ref.name"] == "latest"
    )


def test_it_writes_the_same_bytes_for_the_same_input(tmp_path):
    one, two = _multi(tmp_path / "one"), _multi(tmp_path / "two")
    assert (one / "index.json").read_bytes() == (two / "index.json").read_bytes()
    assert sorted(p.name for p in (one / "blobs/sha256").iterdir()) == sorted(
        p.name for p in (two / "blobs/sha256").iterdir()
    )


def test_it_is_read_back_by_the_engine(tmp_path):
    layout = _multi(tmp_path / "multi")
    with open_source(f"{layout}:latest", "linux/arm64") as source:
        assert json.loads(source.config)["architecture"] == "arm64"
    with open_image_tree(f"{layout}:amd") as tree:
        assert len(tree.manifests) == 1 and len(tree.blobs) == 2
    plain = layer_tar({"a": b"1"})
    single = write_image_layout(tmp_path / "one", [plain], image_config(["sha256:" + "0" * 64]))
    with open_source(str(single)) as source:
        assert source.layers[0][1] == "application/vnd.oci.image.layer.v1.tar"

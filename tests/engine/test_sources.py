"""Local image sources: OCI layouts (refs, nested indexes, platforms), docker save tars and OCI
layouts in a tar, as the CLI and the registry importer read them."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from squashengine import (
    LayerIndex,
    PlatformNotFoundError,
    SourceError,
    index_layer,
    open_source,
    plan_squash,
    write_squash,
)
from squashengine.layoutwriter import LayoutWriter
from tests.support.tools import require_debian_app

from .layerkit import E, decompress, layer, squash
from .oracles import layered_docker_archive, oci_layout_of_layers

BLOBS = [layer(E("a", data=b"1"), compression="gzip"), layer(E("b", data=b"2"))]


def multi_platform_layout(root):
    """A layout whose only entry is an image index with two platforms and an attestation."""
    oci_layout_of_layers(BLOBS, root, "single")
    image = json.loads((root / "index.json").read_text())["manifests"][0]
    image.pop("annotations")
    arm = dict(image, platform={"os": "linux", "architecture": "arm64", "variant": "v8"})
    amd = dict(image, platform={"os": "linux", "architecture": "amd64"})
    att = dict(image, platform={"os": "unknown", "architecture": "unknown"})
    writer = LayoutWriter(root)
    writer.finish({"multi": writer.index([arm, amd, att])})


def test_it_reads_an_oci_layout_by_ref_and_by_default(tmp_path):
    oci_layout_of_layers(BLOBS, tmp_path / "l", "v1")
    for spec in (f"{tmp_path}/l", f"{tmp_path}/l:v1"):
        with open_source(spec) as source:
            assert [d for d, _, _ in source.layers] == [
                "sha256:" + hashlib.sha256(b).hexdigest() for b in BLOBS
            ]
            assert source.layers[0][1].endswith("+gzip")
            assert json.loads(source.config)["os"] == "linux"
            assert source.manifest_digest.startswith("sha256:")
    with pytest.raises(SourceError, match="no image named"):
        open_source(f"{tmp_path}/l:nope")


def test_it_picks_a_platform_from_a_nested_index(tmp_path):
    multi_platform_layout(tmp_path / "m")
    with open_source(f"{tmp_path}/m:multi", "linux/arm64") as source:
        assert source.platform == "linux/arm64/v8" and len(source.layers) == 2
    with open_source(f"{tmp_path}/m") as source:
        assert source.platform == "linux/amd64"
    with pytest.raises(PlatformNotFoundError) as err:
        open_source(f"{tmp_path}/m", "linux/s390x")
    assert err.value.available == ["linux/arm64/v8", "linux/amd64"]


def test_it_reads_a_docker_save_tar_hashing_its_layers(tmp_path):
    path = tmp_path / "saved.tar"
    path.write_bytes(layered_docker_archive(BLOBS, "repo/x:1"))
    with open_source(str(path)) as source:
        assert source.name == "repo/x:1"
        for (digest, media, opener), blob in zip(source.layers, BLOBS, strict=True):
            raw = opener().read()
            assert raw == decompress(blob)  # docker save keeps layers uncompressed
            assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()
            assert media == "application/vnd.oci.image.layer.v1.tar"
        plan = plan_squash(source.layer_inputs(), source.config, format="rootfs")
        out = io.BytesIO()
        write_squash(plan, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getnames() == ["a", "b"]


def test_it_reads_its_own_oci_archive_and_squashes_it_again_to_the_same_layer(tmp_path):
    archive, _, result = squash(BLOBS, format="oci", repo_tag="again")
    path = tmp_path / "oci.tar"
    path.write_bytes(archive)
    with open_source(f"{path}:again") as source:
        assert [d for d, _, _ in source.layers] == [result.diff_id]
        plan = plan_squash(source.layer_inputs(), source.config, format="rootfs")
        out = io.BytesIO()
        assert write_squash(plan, out).diff_id == result.diff_id


def test_it_reuses_stored_indexes():
    image = require_debian_app()
    store: dict[str, bytes] = {}
    calls = []

    def cached(opener, digest):
        if digest not in store:
            calls.append(digest)
            store[digest] = index_layer(opener, digest).to_bytes()
        return LayerIndex.from_bytes(store[digest])

    for _ in range(2):
        with open_source(str(image)) as source:
            layers = source.layer_inputs(cached)
    assert len(calls) == len(layers) == 5


def test_it_names_what_is_wrong_with_a_source(tmp_path):
    with pytest.raises(SourceError, match="no such file"):
        open_source(str(tmp_path / "missing"))
    (tmp_path / "junk").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "junk"))

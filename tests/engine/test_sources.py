"""Local image sources: OCI layouts (refs, nested indexes, platforms), docker save tars and OCI
layouts in a tar, as the CLI and the registry importer read them."""

from __future__ import annotations

import gzip
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
    open_image_tree,
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


def _two_image_archive(path, tags_a, tags_b):
    """A docker save archive of two images (their layers differ)."""
    one = tarfile.open(fileobj=io.BytesIO(layered_docker_archive(BLOBS[:1], "a:1")))
    two = tarfile.open(fileobj=io.BytesIO(layered_docker_archive(BLOBS[1:], "b:1")))
    entries = []
    with tarfile.open(path, "w") as out:
        for prefix, tar, tags in (("one/", one, tags_a), ("two/", two, tags_b)):
            for member in tar.getmembers():
                if member.name == "manifest.json":
                    [entry] = json.loads(tar.extractfile(member).read())
                    entry["Config"] = prefix + entry["Config"]
                    entry["Layers"] = [prefix + p for p in entry["Layers"]]
                    entries.append(dict(entry, RepoTags=tags))
                    continue
                data = tar.extractfile(member).read()
                member.name = prefix + member.name
                out.addfile(member, io.BytesIO(data))
        data = json.dumps(entries).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))


def test_it_names_an_image_by_one_ref_rule_exact_then_tag_or_repository(tmp_path):
    path = tmp_path / "two.tar"
    _two_image_archive(path, ["reg:5000/x/app:1", "x/app:latest"], ["x/tool:1"])
    one, two = ("sha256:" + hashlib.sha256(decompress(b)).hexdigest() for b in BLOBS)

    def first_layer(ref: str) -> str:
        with open_source(f"{path}:{ref}") as source:
            return source.layers[0][0]

    assert first_layer("reg:5000/x/app:1") == one  # a ref may hold ":" and "/"
    assert first_layer("latest") == one  # a tag
    assert first_layer("x/tool") == two  # a repository
    with pytest.raises(SourceError, match="'1' names 2 images in the archive; be exact"):
        open_source(f"{path}:1")
    with pytest.raises(SourceError, match="holds 2 images; name one as PATH:REF"):
        open_source(str(path))
    with pytest.raises(SourceError, match=r"no image named 'x/ap' in the archive; it has: \["):
        open_source(f"{path}:x/ap")


def test_it_gives_the_whole_tree_of_a_multi_platform_entry(tmp_path):
    multi_platform_layout(tmp_path / "m")
    with open_image_tree(f"{tmp_path}/m:multi") as tree:
        assert [m.media_type for m in tree.manifests] == [
            "application/vnd.oci.image.manifest.v1+json"
        ] * 3 + ["application/vnd.oci.image.index.v1+json"]
        root = json.loads(tree.manifests[-1].raw)
        assert [m["platform"]["architecture"] for m in root["manifests"]] == [
            "arm64",
            "amd64",
            "unknown",
        ]
        assert len(tree.blobs) == 3  # the config and two layers, once each
        for blob in tree.blobs:
            with blob.open() as f:
                data = f.read()
            assert len(data) == blob.size
            assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest


def test_it_makes_the_same_manifest_of_a_docker_save_entry_for_both_views(tmp_path):
    path = tmp_path / "saved.tar"
    path.write_bytes(layered_docker_archive(BLOBS, "repo/x:1"))
    with open_image_tree(f"{path}:repo/x:1") as tree, open_source(f"{path}:1") as source:
        [manifest] = tree.manifests
        assert manifest.digest == source.manifest_digest
        doc = json.loads(manifest.raw)
        assert [layer["digest"] for layer in doc["layers"]] == [d for d, _, _ in source.layers]
        assert doc["config"]["size"] == len(source.config)
        assert [b.digest for b in tree.blobs] == [doc["config"]["digest"]] + [
            d for d, _, _ in source.layers
        ]


def test_it_refuses_a_compressed_archive_and_a_layout_without_its_marker(tmp_path):
    path = tmp_path / "saved.tar.gz"
    path.write_bytes(gzip.compress(layered_docker_archive(BLOBS, "repo/x:1")))
    with pytest.raises(SourceError, match="is a gzip archive; decompress it first"):
        open_source(str(path))
    oci_layout_of_layers(BLOBS, tmp_path / "l", "v1")
    (tmp_path / "l" / "oci-layout").unlink()
    for reader in (open_source, open_image_tree):
        with pytest.raises(SourceError, match="not an OCI image layout"):
            reader(f"{tmp_path}/l:v1")


def test_it_refuses_a_blob_whose_size_is_not_its_descriptors(tmp_path):
    oci_layout_of_layers(BLOBS, tmp_path / "l", "v1")
    blob = tmp_path / "l/blobs/sha256" / hashlib.sha256(BLOBS[1]).hexdigest()
    blob.write_bytes(blob.read_bytes() + b"x")
    with pytest.raises(SourceError, match=r"is \d+ bytes but its descriptor says"):
        open_image_tree(f"{tmp_path}/l:v1")
    blob.unlink()
    with pytest.raises(SourceError, match="blob sha256:.* is missing from"):
        open_image_tree(f"{tmp_path}/l:v1")

"""Output formats: docker-archive, OCI archive and rootfs; exact sizes from the plan, whole-stream
compression, write-only outputs, progress and failures of the output."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest
import zstandard

from squashengine import ContentError, DiffIdMismatchError, SquashError, plan_squash, write_squash

from .layerkit import E, config_for, inputs, layer, squash

BLOBS = [
    layer(E("a", "dir"), E("a/f", data=b"one" * 1000), compression="gzip"),
    layer(E("a", "dir"), E("a/.wh.f"), E("a/g", data=b"two"), compression="zstd"),
]


def members(archive: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.getmembers()


def read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.extractfile(name).read()


def test_it_writes_the_docker_archive_layer_first_then_its_metadata():
    archive, plan, result = squash(BLOBS, format="docker", repo_tag="host/ns/repo:tag")
    names = [m.name for m in members(archive)]
    layer_name = names[0]
    assert layer_name.endswith("/layer.tar")
    layer_id = layer_name.split("/")[0]
    config_name = names[1]
    assert names[2:] == [f"{layer_id}/json", f"{layer_id}/VERSION", "manifest.json", "repositories"]
    layer_bytes = read(archive, layer_name)
    assert len(layer_bytes) == plan.layer_size
    assert result.diff_id == "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    assert result.sha256 == "sha256:" + hashlib.sha256(archive).hexdigest()
    config = json.loads(read(archive, config_name))
    assert config_name == hashlib.sha256(read(archive, config_name)).hexdigest() + ".json"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [result.diff_id]}
    assert len(config["history"]) == 1 and config["config"] == {"Cmd": ["/bin/sh"]}
    manifest = json.loads(read(archive, "manifest.json"))
    assert manifest == [
        {"Config": config_name, "RepoTags": ["host/ns/repo:tag"], "Layers": [layer_name]}
    ]
    assert json.loads(read(archive, "repositories")) == {"host/ns/repo": {"tag": layer_id}}
    assert read(archive, f"{layer_id}/VERSION") == b"1.0"


def test_it_writes_an_oci_archive_whose_layer_blob_is_named_by_its_digest():
    archive, plan, result = squash(BLOBS, format="oci", repo_tag="repo:v1")
    items = members(archive)
    assert items[0].name == "oci-layout" and items[1].size == plan.layer_size
    index = json.loads(read(archive, "index.json"))
    [desc] = index["manifests"]
    assert desc["annotations"] == {"org.opencontainers.image.ref.name": "repo:v1"}
    manifest = json.loads(read(archive, "blobs/sha256/" + desc["digest"][7:]))
    [layer_desc] = manifest["layers"]
    assert layer_desc == {
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": result.diff_id,
        "size": plan.layer_size,
    }
    blob = read(archive, "blobs/sha256/" + result.diff_id[7:])  # a hardlink to the staged layer
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == result.diff_id
    config = json.loads(read(archive, "blobs/sha256/" + manifest["config"]["digest"][7:]))
    assert config["rootfs"]["diff_ids"] == [result.diff_id]


def test_it_writes_the_bare_root_filesystem():
    out, plan, result = squash(BLOBS, format="rootfs")
    assert [m.name for m in members(out)] == ["a", "a/g"]
    assert result.sha256 == result.diff_id == "sha256:" + hashlib.sha256(out).hexdigest()
    assert plan.size == plan.layer_size == len(out)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_it_compresses_the_whole_stream_deterministically(compression):
    plain, _, plain_result = squash(BLOBS, format="docker")
    outs = []
    for _ in range(2):
        out, plan, result = squash(BLOBS, format="docker", compression=compression)
        assert plan.size is None and result.size == len(out)
        assert result.sha256 == "sha256:" + hashlib.sha256(out).hexdigest()
        assert result.diff_id == plain_result.diff_id
        outs.append(out)
    assert outs[0] == outs[1]
    if compression == "gzip":
        assert gzip.decompress(outs[0]) == plain
    else:
        assert zstandard.ZstdDecompressor().decompressobj().decompress(outs[0]) == plain


class WriteOnly:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)


def test_it_streams_to_a_write_only_output_and_reports_progress():
    big = [layer(E("f", data=bytes(range(256)) * 80_000), compression="gzip")]
    plan = plan_squash(layers := inputs(big), config_for(layers), format="docker")
    out = WriteOnly()
    seen: list[int] = []
    result = write_squash(plan, out, progress=seen.append)
    assert sum(len(p) for p in out.parts) == plan.size == result.size
    assert seen == sorted(seen) and seen[-1] == plan.size and len(seen) >= 2


class Trickle:
    """A raw stream that takes at most 1000 bytes per write (like a socket)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data) -> int:
        taken = bytes(data[:1000])
        self.data += taken
        return len(taken)


def test_it_finishes_partial_writes_of_a_raw_stream():
    plan = plan_squash(layers := inputs(BLOBS), config_for(layers), format="docker")
    out = Trickle()
    result = write_squash(plan, out)
    expected, _, _ = squash(BLOBS, format="docker")
    assert bytes(out.data) == expected and result.size == len(expected)


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, data) -> int:
        self.calls += 1
        if self.calls > 1:
            raise BrokenPipeError("client went away")
        return len(data)


def test_it_stops_with_the_output_error_when_the_output_breaks():
    big = [layer(E("f", data=bytes(range(256)) * 80_000), compression="gzip")]
    plan = plan_squash(layers := inputs(big), config_for(layers), format="rootfs")
    with pytest.raises(BrokenPipeError):
        write_squash(plan, Broken())


def test_it_plans_from_the_indexes_alone():
    layers = inputs(BLOBS)
    for item in layers:

        def refuse():
            raise AssertionError("planning must not open a blob")

        item.open_blob = refuse
    plan = plan_squash(layers, config_for(layers), format="docker")
    assert plan.size > plan.layer_size > 0


def test_it_rejects_an_unknown_format_or_a_bad_config():
    with pytest.raises(SquashError, match="format"):
        plan_squash(layers := inputs(BLOBS), config_for(layers), format="zip")
    with pytest.raises(SquashError, match="config"):
        plan_squash(inputs(BLOBS), b"not json", format="docker")


def test_it_refuses_layers_that_do_not_match_the_configs_diff_ids():
    # What `docker pull` refuses ("layers from manifest don't match image configuration").
    layers = inputs(BLOBS)
    good = json.loads(config_for(layers))
    plan_squash(layers, json.dumps(good).encode())
    swapped = dict(good, rootfs={"type": "layers", "diff_ids": good["rootfs"]["diff_ids"][::-1]})
    with pytest.raises(DiffIdMismatchError, match=r"layer 0 \(sha256:[0-9a-f]{64}\) has diff_id"):
        plan_squash(layers, json.dumps(swapped).encode())
    for count in (0, len(layers) - 1, len(layers) + 1):
        ids = (good["rootfs"]["diff_ids"] * 2)[:count]
        short = dict(good, rootfs={"type": "layers", "diff_ids": ids})
        with pytest.raises(DiffIdMismatchError, match=f"{len(layers)} layers, {count} rootfs"):
            plan_squash(layers, json.dumps(short).encode())
    without = {k: v for k, v in good.items() if k != "rootfs"}
    with pytest.raises(DiffIdMismatchError, match="no rootfs.diff_ids"):
        plan_squash(layers, json.dumps(without).encode())
    assert issubclass(DiffIdMismatchError, ContentError)

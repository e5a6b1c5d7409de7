"""The squashed registry image as data: names, config, manifest forms, recorded diff_ids and
reproducible builds (pytest-django database, builds run in-process)."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from quaysquash.accounts.grants import set_role
from quaysquash.registry import access, tokens
from quaysquash.registry import mediatypes as mt
from quaysquash.squash import build, cache, pullable
from quaysquash.squash.models import SquashedImage
from quaysquash.storage import get_storage
from tests.factories import robot

SOURCE = "sha256:" + "ab" * 32
DIFF_ID = "sha256:" + "cd" * 32
CONFIG = json.dumps(
    {
        "created": "2024-01-02T03:04:05Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/app"], "Env": ["A=1"], "Labels": {"team": "web"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "00" * 32, "sha256:" + "11" * 32]},
        "history": [{"created": "2024-01-01T00:00:00Z"}, {"created": "2024-01-02T03:04:05Z"}],
    }
).encode()


@pytest.fixture
def tiny(import_tiny):
    """acme/tiny:v1 (the tag only), its first layer 10 kB."""
    return import_tiny([{"a.txt": b"a\n" * 5000}, {"b.txt": b"b\n"}])[0]


def test_it_keeps_the_source_config_but_one_diff_id_and_one_history_entry():
    first = pullable.squashed_config(CONFIG, DIFF_ID, SOURCE)
    assert first == pullable.squashed_config(CONFIG, DIFF_ID, SOURCE)  # deterministic
    cfg = json.loads(first)
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [DIFF_ID]}
    assert cfg["history"] == [
        {"created": "2024-01-02T03:04:05Z", "created_by": f"quaysquash: squashed {SOURCE}"}
    ]
    assert cfg["config"]["Entrypoint"] == ["/app"] and cfg["config"]["Env"] == ["A=1"]
    assert cfg["config"]["Labels"] == {"team": "web", pullable.SOURCE_ANNOTATION: SOURCE}
    assert cfg["created"] == "2024-01-02T03:04:05Z"


def test_it_serves_docker_schema_2_only_to_clients_that_accept_nothing_else():
    assert pullable.form_for(f"{mt.DOCKER_MANIFEST}, {mt.OCI_MANIFEST}", "gzip") == "oci"
    assert pullable.form_for(mt.DOCKER_MANIFEST, "gzip") == "docker"
    assert pullable.form_for(mt.DOCKER_MANIFEST, "zstd") == "oci"  # schema 2 has no zstd
    assert pullable.form_for("", "gzip") == "oci"


def test_it_grants_squashed_scopes_as_pull_on_the_source(tiny):
    deployer = robot(tiny.repository.namespace, "deployer")
    wanted = tokens.Scope("repository", "squashed/acme/tiny", {"pull", "push"})
    assert access.grant(deployer, wanted).actions == set()
    set_role(tiny.repository, deployer, "write")
    assert access.grant(deployer, wanted).actions == {"pull"}


def _build(tag, compression: str) -> SquashedImage:
    key = cache.Key(tag.repository, tag.manifest.digest, "linux/amd64", "rootfs", compression)
    image, _ = cache.ensure_build(key, tag.manifest, None)
    assert build.build(image.pk, "task") == "ready"
    image.refresh_from_db()
    return image


def test_it_records_the_diff_id_and_rebuilds_the_same_blob(tiny):
    image = _build(tiny, "gzip")
    blob = get_storage().read_bytes(cache.object_key(image.file_name))
    assert image.sha256 == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert image.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    image.delete()
    again = _build(tiny, "gzip")
    assert (again.sha256, again.diff_id, again.size) == (image.sha256, image.diff_id, image.size)


def test_it_names_layer_and_config_in_the_manifest(tiny):
    image = _build(tiny, "zstd")
    config = pullable.squashed_config(CONFIG, image.diff_id, SOURCE)
    media_type, raw = pullable.image_manifest("oci", "zstd", config, image, SOURCE)
    manifest = json.loads(raw)
    assert media_type == manifest["mediaType"] == mt.OCI_MANIFEST
    assert manifest["config"] == {
        "mediaType": mt.OCI_CONFIG,
        "digest": pullable.sha256(config),
        "size": len(config),
    }
    assert manifest["layers"] == [
        {"mediaType": mt.OCI_LAYER_ZSTD, "digest": image.sha256, "size": image.size}
    ]
    assert manifest["annotations"] == {pullable.SOURCE_ANNOTATION: SOURCE}

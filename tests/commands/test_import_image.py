"""import_image stores every blob of a local image, verified, and tags it; bad input changes
nothing."""

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from quaysquash.registry.models import Blob, Manifest, Tag
from quaysquash.registry.storage import get_storage
from tests.factories import org
from tests.support.tools import require, require_debian_app

pytestmark = pytest.mark.django_db

DEBIAN_APP_MANIFEST = "sha256:df3611ae97e7673a9c39e3bb1b53477bb00630fd24664aaead85b07c6527ae38"


@pytest.fixture(autouse=True)
def storage_root(settings, tmp_path):
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    return settings.QS_STORAGE_ROOT


@pytest.fixture
def acme():
    return org("acme")


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file()) if root.exists() else []


def test_it_imports_debian_app_with_every_blob_verified(acme, capsys):
    layout = require_debian_app()
    call_command("import_image", f"{layout}:latest", "acme/web:v1")
    assert capsys.readouterr().out.split() == ["acme/web:v1", DEBIAN_APP_MANIFEST]
    tag = Tag.objects.active().get(repository__name="web", name="v1")
    manifest = tag.manifest
    assert manifest.digest == DEBIAN_APP_MANIFEST
    assert hashlib.sha256(bytes(manifest.raw)).hexdigest() == DEBIAN_APP_MANIFEST.split(":")[1]
    assert manifest.layers.count() == 5
    storage = get_storage()
    for blob in Blob.objects.all():
        with storage.open(blob.digest) as fh:
            assert "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest() == blob.digest
    assert Blob.objects.count() == 6  # config + 5 layers


def test_it_keeps_tag_history_when_reimporting_to_another_tag(acme):
    layout = require_debian_app()
    call_command("import_image", str(layout), "acme/web:v1")
    call_command("import_image", str(layout), "acme/web:v2")
    assert Manifest.objects.count() == 1
    assert set(Tag.objects.active().values_list("name", flat=True)) == {"v1", "v2"}


def test_it_imports_a_docker_save_tar(acme, tmp_path):
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        data = b"hello\n"
        info.size = len(data)
        import io

        tar.addfile(info, io.BytesIO(data))
    layer_bytes = layer.read_bytes()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in [
            ("abc/layer.tar", layer_bytes),
            (config_name, config),
            (
                "manifest.json",
                json.dumps(
                    [{"Config": config_name, "RepoTags": ["x/y:1"], "Layers": ["abc/layer.tar"]}]
                ).encode(),
            ),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            import io

            tar.addfile(info, io.BytesIO(data))
    call_command("import_image", str(archive), "acme/saved:1")
    manifest = Tag.objects.active().get(name="1").manifest
    doc = json.loads(bytes(manifest.raw))
    assert doc["layers"][0]["digest"] == diff_id
    assert doc["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert get_storage().exists(diff_id)


def copy_layout(tmp_path: Path) -> Path:
    target = tmp_path / "layout"
    shutil.copytree(require_debian_app(), target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def assert_nothing_changed(storage_root: Path) -> None:
    assert not Blob.objects.exists()
    assert not Manifest.objects.exists()
    assert not Tag.objects.exists()
    assert stored_files(storage_root) == []


def test_it_refuses_a_blob_whose_content_does_not_match_its_digest(acme, tmp_path, storage_root):
    layout = copy_layout(tmp_path)
    victim = (
        layout / "blobs/sha256/ebcb8f1f58a3b46c84a1c0befff6c34248781839ebb9a46fd0641807192c3d0e"
    )
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="blob corrupt: digest mismatch"):
        call_command("import_image", str(layout), "acme/web:v1")
    assert_nothing_changed(storage_root)


def test_it_refuses_a_layout_with_a_missing_blob(acme, tmp_path, storage_root):
    layout = copy_layout(tmp_path)
    (
        layout / "blobs/sha256/9c5767d631a5e47720bf003b5f8abd5b080b487641648ca974ae895ce4dcf982"
    ).unlink()
    with pytest.raises(CommandError, match="blob sha256:9c5767d6.* is missing"):
        call_command("import_image", str(layout), "acme/web:v1")
    assert_nothing_changed(storage_root)


def test_it_refuses_a_directory_that_is_not_a_layout(acme, tmp_path, storage_root):
    (tmp_path / "junk").mkdir()
    with pytest.raises(CommandError, match="not an OCI image layout"):
        call_command("import_image", str(tmp_path / "junk"), "acme/web:v1")
    assert_nothing_changed(storage_root)


def test_it_refuses_a_corrupt_index(acme, tmp_path, storage_root):
    layout = copy_layout(tmp_path)
    (layout / "index.json").write_text("{not json")
    with pytest.raises(CommandError, match="index.json is not valid JSON"):
        call_command("import_image", str(layout), "acme/web:v1")
    assert_nothing_changed(storage_root)


@pytest.mark.parametrize(
    "target, message",
    [
        ("nope/web:v1", "unknown namespace 'nope'"),
        ("acme/Web:v1", "invalid repository name"),
        ("acme/web:-bad", "invalid tag name"),
        ("acme/web", "target must be"),
    ],
)
def test_it_refuses_bad_targets(acme, storage_root, target, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_image", str(require_debian_app()), target)
    assert_nothing_changed(storage_root)


def test_it_refuses_an_unknown_ref(acme, storage_root):
    with pytest.raises(CommandError, match="no image named 'nope'"):
        call_command("import_image", f"{require_debian_app()}:nope", "acme/web:v1")
    assert_nothing_changed(storage_root)


def test_it_prints_one_error_line_from_the_command_line(tmp_path):
    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            capture_output=True,
            text=True,
            env={"QS_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).resolve().parents[2],
        )

    assert manage("migrate", "-v0").returncode == 0
    result = manage("import_image", str(tmp_path), "nope/web:v1")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_it_imports_archives_skopeo_writes_naming_the_image_by_the_engines_ref_rule(acme, tmp_path):
    skopeo = require("skopeo")
    layout = require_debian_app()
    oci_tar, saved = tmp_path / "oci.tar", tmp_path / "saved.tar"
    for dest in (f"oci-archive:{oci_tar}:latest", f"docker-archive:{saved}:example.com/app:v7"):
        subprocess.run([skopeo, "copy", f"oci:{layout}:latest", dest], check=True, timeout=300)
    call_command("import_image", f"{oci_tar}:latest", "acme/web:oci")
    assert Tag.objects.active().get(name="oci").manifest.digest == DEBIAN_APP_MANIFEST
    # docker save keeps layers uncompressed: another manifest of the same 5 layers' content.
    for ref, tag in (("example.com/app:v7", "exact"), ("v7", "tag"), ("example.com/app", "repo")):
        call_command("import_image", f"{saved}:{ref}", f"acme/web:{tag}")
    saved_manifests = {
        Tag.objects.active().get(name=t).manifest.digest for t in ("exact", "tag", "repo")
    }
    assert len(saved_manifests) == 1
    doc = json.loads(bytes(Tag.objects.active().get(name="exact").manifest.raw))
    assert len(doc["layers"]) == 5
    assert {layer["mediaType"] for layer in doc["layers"]} == {
        "application/vnd.oci.image.layer.v1.tar"
    }
    with pytest.raises(CommandError, match="no image named 'v8' in the archive"):
        call_command("import_image", f"{saved}:v8", "acme/web:nope")


def test_it_refuses_a_compressed_archive(acme, tmp_path, storage_root):
    archive = tmp_path / "saved.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(require_debian_app() / "index.json", "manifest.json")
    with pytest.raises(CommandError, match="is a gzip archive; decompress it first"):
        call_command("import_image", str(archive), "acme/web:v1")
    assert_nothing_changed(storage_root)

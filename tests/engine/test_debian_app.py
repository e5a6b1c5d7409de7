"""The real test image (../shared/images/debian-app: whiteouts, opaque dirs, dir -> file, a
rewritten hardlink, a fifo, setuid, 200-character paths) squashed through the CLI and checked by
real clients: dockerd (load, run, export against the layered image), podman and skopeo."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.support.tools import REPO_ROOT, require, require_debian_app

from .oracles import docker_export

TAG = "localhost/qs/debian-app:squashed"


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    image = require_debian_app()
    out = tmp_path_factory.mktemp("debian-app")
    paths = {}
    for fmt in ("docker", "oci"):
        path = out / f"debian-app.{fmt}.tar"
        subprocess.run(
            [sys.executable, "-m", "squashengine", f"{image}:latest", "-o", str(path)]
            + ["--format", fmt, "--tag", TAG],
            check=True,
            cwd=REPO_ROOT,
            capture_output=True,
        )
        paths[fmt] = path
    return paths


@pytest.mark.integration
def test_it_squashes_debian_app_into_an_image_docker_loads_and_runs(dockerd, archives):
    with open(archives["docker"], "rb") as f:
        dockerd.docker("load", input=f.read())
    run = dockerd.run(TAG, "python3", "/opt/app/main2.py")
    assert run.stdout.decode().strip() == "v2"
    layers = dockerd.docker("image", "inspect", "--format", "{{len .RootFS.Layers}}", TAG)
    assert layers.stdout.decode().strip() == "1"


@pytest.fixture(scope="module")
def layered(dockerd) -> str:
    """The original, layered debian-app in dockerd (copied there by skopeo)."""
    skopeo = require("skopeo")
    name = "localhost/qs/debian-app:layered"
    subprocess.run(
        [skopeo, "copy", "--dest-daemon-host", dockerd.host]
        + [f"oci:{require_debian_app()}:latest", f"docker-daemon:{name}"],
        check=True,
        capture_output=True,
    )
    return name


@pytest.mark.integration
def test_it_exports_the_same_tree_as_the_layered_debian_app(dockerd, archives, layered):
    with open(archives["docker"], "rb") as f:
        dockerd.docker("load", input=f.read())
    want = docker_export(dockerd, layered)
    got = docker_export(dockerd, TAG)
    assert got.keys() == want.keys()
    assert got == want
    # the tricky spots of this image, spelled out
    assert "srv/data/olddir/sub" not in got and got["srv/data/olddir/b"]
    assert got["srv/data/replace"][0] == "0" and "srv/data/replace/inner" not in got
    assert sorted(k for k in got if k.startswith("srv/data/opaque/")) == ["srv/data/opaque/o3"]
    assert "opt/app/main.py" not in got and "opt/app/main2.py" in got
    assert got["srv/fifo"][0] == "6" and got["srv/links/setuid-true"][1] == 0o4755


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_it_squashes_debian_app_into_archives_podman_loads(archives, fmt):
    podman = require("podman")
    with tempfile.TemporaryDirectory(prefix="qs-podman-") as tmp:
        base = [podman, "--root", f"{tmp}/root", "--runroot", f"{tmp}/run"]
        base += ["--storage-driver", "vfs"]
        load = subprocess.run(base + ["load", "-i", str(archives[fmt])], capture_output=True)
        assert load.returncode == 0, load.stderr.decode()
        images = subprocess.run(
            base + ["images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True,
            check=True,
        )
        assert TAG in images.stdout.decode()
        subprocess.run(base + ["rmi", "-a", "-f"], capture_output=True)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("fmt", "transport"), [("docker", "docker-archive"), ("oci", "oci-archive")]
)
def test_it_squashes_debian_app_into_archives_skopeo_inspects(archives, fmt, transport):
    skopeo = require("skopeo")
    result = subprocess.run(
        [skopeo, "inspect", f"{transport}:{archives[fmt]}"], capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()
    assert '"Layers": [\n        "sha256:' in result.stdout.decode()
    assert result.stdout.decode().count("sha256:") >= 2


@pytest.mark.integration
def test_it_squashes_a_docker_save_of_the_layered_image_to_the_same_layer(
    dockerd, archives, layered, tmp_path
):
    saved = tmp_path / "saved.tar"
    with open(saved, "wb") as f:
        f.write(dockerd.docker("save", layered).stdout)
    out = tmp_path / "again.tar"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "squashengine",
            str(saved),
            "-o",
            str(out),
            "--format",
            "rootfs",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr.decode()
    with tarfile.open(archives["docker"]) as tar:
        [layer_name] = [n for n in tar.getnames() if n.endswith("/layer.tar")]
        from_oci = hashlib.sha256(tar.extractfile(layer_name).read()).hexdigest()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == from_oci

"""The busybox demo image: a reproducible OCI layout that Docker runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from quaysquash.core import demo_image
from tests.support.tools import require


def test_it_builds_the_same_layout_twice(tmp_path: Path) -> None:
    one = demo_image.build_busybox_layout(tmp_path / "one")
    two = demo_image.build_busybox_layout(tmp_path / "two")
    assert (one / "index.json").read_bytes() == (two / "index.json").read_bytes()
    assert sorted(p.name for p in (one / "blobs" / "sha256").iterdir()) == sorted(
        p.name for p in (two / "blobs" / "sha256").iterdir()
    )


def test_it_recognises_a_static_binary(tmp_path: Path) -> None:
    busybox = demo_image.find_static_busybox()
    assert busybox is not None, "busybox-static is not installed; scripts/test installs it"
    assert demo_image.is_static_elf(busybox)
    assert not demo_image.is_static_elf(Path("/bin/ls"))  # dynamically linked
    (tmp_path / "text").write_text("not an ELF file")
    assert not demo_image.is_static_elf(tmp_path / "text")


def test_it_is_a_valid_oci_layout(tmp_path: Path) -> None:
    skopeo = require("skopeo")
    layout = demo_image.build_busybox_layout(tmp_path / "layout")
    # skopeo verifies every digest while copying.
    subprocess.run(
        [skopeo, "copy", f"oci:{layout}:v1", f"oci:{tmp_path / 'copy'}:v1"],
        check=True,
        capture_output=True,
    )


@pytest.mark.integration
def test_it_runs_in_docker(tmp_path: Path, dockerd) -> None:
    skopeo = require("skopeo")
    layout = demo_image.build_busybox_layout(tmp_path / "layout")
    archive = tmp_path / "demo.tar"
    subprocess.run(
        [skopeo, "copy", f"oci:{layout}:v1", f"docker-archive:{archive}:qs-demo:v1"],
        check=True,
        capture_output=True,
    )
    dockerd.docker("load", "-i", str(archive))
    out = dockerd.run("qs-demo:v1", "busybox", "echo", "hi")
    assert out.stdout.decode().strip() == "hi"
    out = dockerd.run("qs-demo:v1", "echo", "sh works")
    assert out.stdout.decode().strip() == "sh works"

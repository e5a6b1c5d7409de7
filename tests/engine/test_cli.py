"""``python -m squashengine``: archives to a file or stdout, errors to stderr with a
non-zero exit status."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile

from tests.support.tools import REPO_ROOT

from .layerkit import E, layer
from .oracles import layered_docker_archive, oci_layout_of_layers


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "squashengine", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=300,
    )


def test_it_writes_a_rootfs_of_a_docker_save_tar_to_stdout(tmp_path):
    saved = tmp_path / "saved.tar"
    saved.write_bytes(
        layered_docker_archive(
            [layer(E("a", data=b"1"), E("b", data=b"2")), layer(E(".wh.a"))], "x/y:1"
        )
    )
    result = cli(str(saved), "--format", "rootfs")
    assert result.returncode == 0, result.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as tar:
        assert tar.getnames() == ["b"]


def test_it_writes_a_compressed_docker_archive_to_a_file(tmp_path):
    oci_layout_of_layers([layer(E("a", data=b"1"), compression="gzip")], tmp_path / "l", "v1")
    out = tmp_path / "out.tar.gz"
    result = cli(f"{tmp_path}/l:v1", "-o", str(out), "--tag", "r/x:2", "--compression", "gzip")
    assert result.returncode == 0, result.stderr.decode()
    with tarfile.open(out, "r:gz") as tar:
        assert "manifest.json" in tar.getnames()
    assert not (tmp_path / "out.tar.gz.partial").exists()


def test_it_reports_errors_on_stderr_with_a_non_zero_exit(tmp_path):
    missing = cli(str(tmp_path / "nothing"))
    assert missing.returncode != 0 and b"error:" in missing.stderr and not missing.stdout

    blob = layer(E("../escape", data=b"x"))
    oci_layout_of_layers([blob], tmp_path / "bad", "v1")
    bad = cli(str(tmp_path / "bad"), "-o", str(tmp_path / "o.tar"))
    assert bad.returncode == 1
    assert b"unsafe entry" in bad.stderr and b"sha256:" in bad.stderr
    assert not (tmp_path / "o.tar").exists() and not (tmp_path / "o.tar.partial").exists()

    oci_layout_of_layers([layer(E("a", data=b"1"))], tmp_path / "good", "v1")
    platform = cli(str(tmp_path / "good"), "--platform", "linux/arm64", "-o", "/dev/null")
    assert platform.returncode == 1 and b"available: linux/amd64" in platform.stderr

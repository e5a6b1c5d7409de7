"""End to end: curl | docker load against the real server, worker and Redis."""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
from pathlib import Path

import requests

from tests.support.tools import require

from .dockerload import curl_into_docker_load


def _load_with_docker(site, dockerd, url: str, decompress: str = "") -> str:
    """The exact command of the Fetch Tag modal, through a shell; returns docker's output."""
    return curl_into_docker_load(dockerd, f"{site.robot}:{site.token}", url, decompress)


def _plain_row(site) -> dict:
    """The cache row of acme/web:v1 as docker, uncompressed (other tests add other formats)."""
    return next(
        r
        for r in site.settled_rows("acme/web")
        if (r["format"], r["compression"]) == ("docker", "none")
    )


def test_it_streams_a_cold_squash_that_docker_loads_and_runs(site, dockerd):
    out = _load_with_docker(site, dockerd, site.squash_url("acme/web", "v1"))
    image = f"{site.stack.host}/acme/web:v1"
    assert f"Loaded image: {image}" in out
    run = dockerd.run(image, "cat", "/etc/os-release")
    assert b"Debian" in run.stdout
    rows = [
        r
        for r in site.settled_rows("acme/web")
        if (r["format"], r["compression"]) == ("docker", "none")
    ]
    assert [(r["state"], r["attempt"]) for r in rows] == [("ready", 1)]
    logs = site.pull_logs("acme/web")
    assert logs[-1]["source"] == "build"
    assert logs[-1]["principal"] == site.robot
    assert logs[-1]["principal_kind"] == "robot"
    assert logs[-1]["complete"] is True
    assert logs[-1]["bytes_sent"] == rows[0]["size"]


def test_it_serves_the_second_pull_from_cache_with_validators(site, dockerd):
    url = site.squash_url("acme/web", "v1")
    _load_with_docker(site, dockerd, url)  # whichever test runs first builds it
    site.settled_rows("acme/web")
    response = requests.get(url, auth=site.auth, stream=True)
    assert response.status_code == 200
    row = _plain_row(site)
    assert response.headers["ETag"] == f'"{row["sha256"]}"'
    assert response.headers["Content-Length"] == str(row["size"])
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in response.headers
    digest = hashlib.sha256()
    for chunk in response.iter_content(1 << 20):
        digest.update(chunk)
    assert f"sha256:{digest.hexdigest()}" == row["sha256"]
    out = _load_with_docker(site, dockerd, url)
    assert "Loaded image" in out
    assert site.pull_logs("acme/web")[-1]["source"] == "cache"
    assert _plain_row(site)["attempt"] == 1
    not_modified = requests.get(
        url, auth=site.auth, headers={"If-None-Match": f'"{row["sha256"]}"'}
    )
    assert not_modified.status_code == 304


def test_it_resumes_a_cut_download_with_curl_c(site, tmp_path: Path):
    url = site.squash_url("acme/web", "v1")
    site.download("/dev/null", url)  # warm the cache
    row = _plain_row(site)
    out = tmp_path / "image.tar"
    cut = site.download(out, url, "--limit-rate", "20M", "--max-time", "2", check=False)
    assert cut.returncode == 28  # timed out: a cut download
    assert 0 < out.stat().st_size < row["size"]
    site.download(out, url, "-C", "-")
    assert out.stat().st_size == row["size"]
    assert "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest() == row["sha256"]


def test_it_answers_a_range_request_with_206(site):
    url = site.squash_url("acme/web", "v1")
    full = requests.get(url, auth=site.auth).content
    part = requests.get(url, auth=site.auth, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(full)}"
    assert part.content == full[100:1100]
    stale = requests.get(
        url, auth=site.auth, headers={"Range": "bytes=100-1099", "If-Range": '"sha256:00"'}
    )
    assert stale.status_code == 200 and len(stale.content) == len(full)
    bad = requests.get(url, auth=site.auth, headers={"Range": f"bytes={len(full)}-"})
    assert bad.status_code == 416


def test_it_serves_oci_format_that_podman_loads(site, tmp_path: Path, podman):
    archive = tmp_path / "oci.tar"
    site.download(archive, site.squash_url("acme/web", "v1", format="oci"))
    podman("load", "-i", str(archive))
    assert podman("images", "--format", "{{.ID}}").strip()


def test_it_serves_rootfs_as_a_plain_tar(site, tmp_path: Path):
    archive = tmp_path / "rootfs.tar"
    site.download(archive, site.squash_url("acme/web", "v1", format="rootfs"))
    listing = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    names = {n.rstrip("/").removeprefix("./") for n in listing.stdout.splitlines()}
    assert "etc/os-release" in names
    assert not any(n.endswith("manifest.json") and "/" not in n for n in names)
    with tarfile.open(archive) as tar:
        assert tar.getmember(next(m for m in tar.getnames() if m.endswith("etc/os-release")))


def test_it_serves_compressed_variants_that_docker_loads(site, dockerd):
    # docker load reads gzip itself; Docker 28 does not recognise zstd, hence zstd -d.
    for compression, decompress in (("gzip", ""), ("zstd", f"{require('zstd')} -dc | ")):
        url = site.squash_url("acme/web", "v1", compression=compression)
        out = _load_with_docker(site, dockerd, url, decompress)
        assert f"Loaded image: {site.stack.host}/acme/web:v1" in out, compression
        # Second time from the cache, with the final size as Content-Length.
        head = requests.get(url, auth=site.auth, stream=True)
        assert int(head.headers["Content-Length"]) > 0
        head.close()
    kinds = {(r["compression"], r["state"]) for r in site.settled_rows("acme/web")}
    assert {("gzip", "ready"), ("zstd", "ready")} <= kinds


def test_it_answers_head_without_starting_a_build(site):
    url = site.squash_url("acme/web", "v1", format="rootfs", compression="zstd")
    response = requests.head(url, auth=site.auth)
    assert response.status_code == 200
    assert response.headers["X-Squash-Cache"] == "missing"
    assert "Content-Length" not in response.headers
    assert response.headers["Content-Type"] == "application/zstd"
    state = requests.get(
        site.state_url("acme/web", "v1", format="rootfs", compression="zstd"), auth=site.auth
    ).json()
    assert state["state"] == "missing"
    assert requests.head(url).status_code == 401


def test_it_answers_head_on_a_cached_squash_with_the_get_headers(site, dockerd):
    url = site.squash_url("acme/web", "v1")
    _load_with_docker(site, dockerd, url)  # whichever test runs first builds it
    site.settled_rows("acme/web")
    head = requests.head(url, auth=site.auth)
    get = requests.get(url, auth=site.auth, stream=True)
    get.close()
    assert head.status_code == 200
    assert head.headers["X-Squash-Cache"] == "hit"
    for name in ("Content-Length", "ETag", "Last-Modified", "Accept-Ranges", "Content-Type"):
        assert head.headers[name] == get.headers[name], name
    assert head.content == b""
    etag = head.headers["ETag"]
    assert requests.head(url, auth=site.auth, headers={"If-None-Match": etag}).status_code == 304

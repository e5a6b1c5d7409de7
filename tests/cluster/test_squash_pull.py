"""Squashed pulls when the web server that answers and the worker that builds share no disk."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.tools import DEBIAN_APP

from .conftest import FAST_DEAD_WORKER, SLOW_BUILDS, sha256_of

pytestmark = pytest.mark.integration

CLUSTER_ENV = {**SLOW_BUILDS, **FAST_DEAD_WORKER}


def _headers(text: str) -> dict[str, str]:
    # The last response's headers of a curl -D dump (a redirect would add an earlier block).
    block = text.strip().split("\r\n\r\n")[-1]
    lines = block.split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _pull(url: str, auth: tuple[str, str]) -> tuple[int, str, int, int]:
    """(status, sha256 of the body, Content-Length, bytes received) of one GET."""
    with requests.get(url, auth=auth, stream=True, timeout=600) as response:
        digest = hashlib.sha256()
        received = 0
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            received += len(chunk)
        length = int(response.headers.get("Content-Length", -1))
        return response.status_code, "sha256:" + digest.hexdigest(), length, received


def test_it_streams_a_cold_pull_on_one_host_while_a_worker_on_another_builds_it(
    cluster_site, dockerd, tmp_path: Path
):
    site = cluster_site
    out, head = tmp_path / "web.tar", tmp_path / "headers.txt"
    pull = site.curl(
        "-f", "-D", str(head), "-u", f"{site.robot}:{site.token}", "-o", str(out),
        site.squash_url(site.web_a, "acme/web"),
    )  # fmt: skip
    assert pull.returncode == 0, pull.stderr
    headers = _headers(head.read_bytes().decode())
    assert headers.get("x-squash-source") == "build"  # it followed the build, not a file
    # Followers finish at Content-Length, before the worker has hashed and assembled the file.
    site.wait_state(site.web_a, "acme/web", "ready")
    [row] = site.squash_rows("acme/web")
    assert row["state"] == "ready" and row["attempt"] == 1
    assert int(headers["content-length"]) == row["size"] == out.stat().st_size
    assert sha256_of(out) == row["sha256"]
    assert site.builder_of(row) in site.cluster.workers  # built by a worker, not by web A
    image = f"{site.cluster.host}/acme/web:v1"
    loaded = dockerd.docker("load", "-i", str(out)).stdout.decode()
    assert f"Loaded image: {image}" in loaded
    assert b"Debian" in dockerd.run(image, "cat", "/etc/os-release").stdout


def test_it_builds_once_for_20_concurrent_cold_pulls_spread_over_both_hosts(cluster_site):
    site = cluster_site
    site.import_image(DEBIAN_APP, "acme/conc")
    urls = [site.squash_url(web, "acme/conc") for web in (site.web_a, site.web_b)] * 10
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda url: _pull(url, site.auth), urls))
    site.wait_state(site.web_b, "acme/conc", "ready")
    [row] = site.squash_rows("acme/conc")
    assert row["state"] == "ready" and row["attempt"] == 1  # exactly one build
    assert {status for status, *_ in results} == {200}
    assert {digest for _, digest, _, _ in results} == {row["sha256"]}
    assert {(length, got) for _, _, length, got in results} == {(row["size"], row["size"])}
    logs = site.pull_logs("acme/conc")
    assert len(logs) == 20 and all(log["complete"] for log in logs)


def test_it_serves_cached_pulls_on_both_hosts_without_rebuilding(cluster_site):
    site = cluster_site
    site.import_image(DEBIAN_APP, "acme/cached")
    first = _pull(site.squash_url(site.web_b, "acme/cached"), site.auth)
    site.wait_state(site.web_a, "acme/cached", "ready")
    again = [_pull(site.squash_url(web, "acme/cached"), site.auth) for web in site.cluster.webs]
    [row] = site.squash_rows("acme/cached")
    assert row["attempt"] == 1  # the cached pulls built nothing
    assert {first, *again} == {(200, row["sha256"], row["size"], row["size"])}
    assert [log["source"] for log in site.pull_logs("acme/cached")] == ["build", "cache", "cache"]
    for web in site.cluster.webs:
        assert site.state(web, "acme/cached")["builds"] == 1

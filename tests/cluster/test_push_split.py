"""One upload session served by two web hosts: the session lives in shared storage."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support import skopeo
from tests.support.balancer import RoundRobinBalancer
from tests.support.tools import require_debian_app

from .conftest import PASSWORD

pytestmark = pytest.mark.integration

ALICE = ("alice", PASSWORD)


def _on(web, location: str) -> str:
    """``location`` (absolute or relative, as the previous host answered) on host ``web``."""
    parts = urlsplit(location)
    return f"{web.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(20 * 1024 * 1024 + 5, 8 * 1024 * 1024), (40 * 1000 + 7, 1000)],
    ids=["skopeo-sized-chunks", "tiny-chunks"],
)
def test_it_finishes_on_one_host_an_upload_chunked_over_both(cluster_site, size: int, chunk: int):
    site = cluster_site
    a, b = site.web_a, site.web_b
    data = os.urandom(size)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = requests.post(f"{a.url}/v2/acme/split/blobs/uploads/", auth=ALICE, timeout=30)
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    for n, offset in enumerate(range(0, size, chunk)):
        piece = data[offset : offset + chunk]
        web = (b, a)[n % 2]  # A answered the POST: B takes the first chunk
        response = requests.patch(
            _on(web, location),
            data=piece,
            auth=ALICE,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(piece) - 1}",
            },
            timeout=60,
        )
        assert response.status_code == 202, f"chunk {n} on {web.name}: {response.text}"
        assert response.headers["Range"] == f"0-{offset + len(piece) - 1}"
        location = response.headers["Location"]
    # The session's progress as the other host sees it.
    status = requests.get(_on(a, location), auth=ALICE, timeout=30)
    assert status.status_code == 204 and status.headers["Range"] == f"0-{size - 1}"
    finish = _on(b, location) + ("&" if "?" in location else "?") + f"digest={digest}"
    done = requests.put(finish, auth=ALICE, timeout=60)
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == digest
    for web in (a, b):
        fetched = requests.get(f"{web.url}/v2/acme/split/blobs/{digest}", auth=ALICE, timeout=60)
        assert fetched.status_code == 200 and fetched.content == data, web.name


def test_it_takes_a_skopeo_push_whose_requests_alternate_between_the_hosts(
    cluster_site, tmp_path: Path
):
    site = cluster_site
    debian_app = require_debian_app()
    balancer = RoundRobinBalancer([web.host for web in site.cluster.webs]).start()
    try:
        skopeo.push(
            f"oci:{debian_app}:latest",
            f"docker://{balancer.host}/acme/roundrobin:v1",
            f"alice:{PASSWORD}",
            timeout=600,
        )
    finally:
        balancer.stop()
    # Every upload session met both hosts (the balancer sends each session's next request to
    # the other one), and each host took part of the push.
    uploads = [(m, path, host) for m, path, host in balancer.served if "/blobs/uploads/" in path]
    assert {m for m, _, _ in uploads} >= {"POST", "PATCH", "PUT"}
    assert {host for _, _, host in uploads} == {web.host for web in site.cluster.webs}
    # Pulled back from host B, the image is the one pushed, byte for byte.
    out = tmp_path / "pulled"
    skopeo.pull(
        f"docker://{site.web_b.host}/acme/roundrobin:v1",
        f"oci:{out}:v1",
        f"alice:{PASSWORD}",
        timeout=600,
    )
    pushed = {p.name for p in (debian_app / "blobs" / "sha256").iterdir()}
    index = json.loads((out / "index.json").read_text())
    manifest_hex = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((out / "blobs" / "sha256" / manifest_hex).read_text())
    layers = {layer["digest"].split(":")[1] for layer in manifest["layers"]}
    assert layers <= pushed and manifest["config"]["digest"].split(":")[1] in pushed

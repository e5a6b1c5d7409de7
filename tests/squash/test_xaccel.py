"""nginx in front of quaysquash, sending cached squashes itself (X-Accel-Redirect)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.markers import database_backed
from tests.support.nginx_server import NginxServer
from tests.support.tools import DEBIAN_APP

from .conftest import FAST_DEAD_WORKER, SquashSite, _site


@pytest.fixture(scope="module")
@database_backed
def proxied() -> Iterator[tuple[SquashSite, str]]:
    """A stack with QS_SQUASH_X_ACCEL_PREFIX=/_squash/ behind Debian's nginx; yields the site
    and nginx's base URL."""
    env = {**FAST_DEAD_WORKER, "QS_SQUASH_X_ACCEL_PREFIX": "/_squash/"}
    for site in _site(env, "qsxaccel-"):
        site.import_image(DEBIAN_APP, "acme/web:v1")
        site.robot, site.token = site.stack.create_robot("acme", "deployer", {"web": "read"})
        workdir = Path(tempfile.mkdtemp(prefix="qsngx-", dir="/tmp"))
        nginx = NginxServer(
            workdir,
            f"""
        location / {{
            proxy_pass http://{site.stack.host};
            proxy_set_header Host $http_host;
            proxy_buffering off;           # cold pulls stream as they are built
            proxy_read_timeout 600s;
        }}
        location /_squash/ {{
            internal;
            alias {site.stack.cache_dir}/;
            sendfile on;
        }}""",
        ).start()
        try:
            yield site, nginx.url
        finally:
            nginx.stop()
            shutil.rmtree(workdir, ignore_errors=True)


def test_it_streams_cold_through_nginx_and_hands_cached_pulls_to_it(proxied):
    site, base = proxied
    url = f"{base}/c1/squash/acme/web/v1"
    cold = requests.get(url, auth=site.auth)
    assert cold.status_code == 200
    assert cold.headers.get("X-Squash-Source") == "build"
    row = site.settled_rows("acme/web")[0]
    assert "sha256:" + hashlib.sha256(cold.content).hexdigest() == row["sha256"]

    cached = requests.get(url, auth=site.auth)
    assert cached.status_code == 200
    assert "X-Accel-Redirect" not in cached.headers  # nginx consumed it
    assert cached.headers["Content-Type"] == "application/x-tar"
    assert cached.content == cold.content
    part = requests.get(url, auth=site.auth, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == cold.content[10:20]


def test_it_still_refuses_unauthorised_pulls_behind_nginx(proxied):
    site, base = proxied
    url = f"{base}/c1/squash/acme/web/v1"
    assert requests.get(url).status_code == 401
    assert requests.get(f"{base}/_squash/blobs/1.tar").status_code == 404  # internal only

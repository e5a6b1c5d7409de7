"""The whole service on S3-compatible storage: a real stack (uvicorn, Celery worker, Redis) with
``QS_STORAGE_BACKEND=s3`` against a private S3 server on loopback, once moto's HTTP server and
once Ceph's radosgw.

Pushes and pulls go through skopeo, squashes through curl; blob GETs and cached squashes are
answered with redirects to presigned URLs that the clients follow to the S3 server. radosgw
checks every signature (moto checks none), so on it these pulls also prove the URLs are
signed right; tests/storage/test_contract.py shows it refusing altered and expired ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support.markers import database_backed
from tests.support.s3_server import S3Server
from tests.support.tools import require, require_debian_app
from tests.support.waiting import wait_for

from .conftest import FAST_DEAD_WORKER, PASSWORD, SquashSite, _site
from .images import layer_digests

PREFIX = "qs/"


@pytest.fixture(scope="module", params=["s3_server", "radosgw"])
@database_backed
def s3_site(request) -> Iterator[tuple[SquashSite, str, S3Server]]:
    """A stack storing blobs in a fresh bucket (under ``qs/``) of moto's server, then of
    radosgw; yields the site, the bucket and the S3 server."""
    server: S3Server = request.getfixturevalue(request.param)
    bucket = server.create_bucket()
    env = {**FAST_DEAD_WORKER, **server.env(bucket, prefix=PREFIX)}
    for site in _site(env, "qss3stack-"):
        yield site, bucket, server


def bucket_keys(s3_server: S3Server, bucket: str, prefix: str) -> list[str]:
    pages = (
        s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def skopeo(*args: str) -> None:
    result = subprocess.run(
        [require("skopeo"), "copy", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_it_pushes_and_pulls_through_s3_with_blob_redirects(s3_site, tmp_path):
    site, bucket, s3_server = s3_site
    source = require_debian_app()
    skopeo(
        "--dest-tls-verify=false",
        "--dest-creds",
        f"alice:{PASSWORD}",
        f"oci:{source}:latest",
        f"docker://{site.stack.host}/acme/web:v1",
    )
    layers = layer_digests(source)
    stored = bucket_keys(s3_server, bucket, PREFIX + "blobs/sha256/")
    for digest in layers:
        hexpart = digest.split(":")[1]
        assert f"{PREFIX}blobs/sha256/{hexpart[:2]}/{hexpart}" in stored
    # Nothing on local disk: sessions were chunk objects, bodies only staged per request.
    assert not (site.stack.storage_root / "blobs").exists()
    assert not (site.stack.storage_root / "uploads").exists()
    assert list((site.stack.scratch_dir / "staging").iterdir()) == []
    assert bucket_keys(s3_server, bucket, PREFIX + "uploads/") == []

    pulled = tmp_path / "pulled"
    skopeo(
        "--src-tls-verify=false",
        "--src-creds",
        f"alice:{PASSWORD}",
        f"docker://{site.stack.host}/acme/web:v1",
        f"oci:{pulled}:v1",
    )
    assert layer_digests(pulled) == layers

    # skopeo got every layer through a 307 (uvicorn's access log) ...
    log = site.stack.web_log.read_text()
    for digest in layers:
        hexpart = digest.split(":")[1]  # skopeo escapes the colon
        assert re.search(rf'"GET /v2/acme/web/blobs/sha256(:|%3A){hexpart} HTTP/1.1" 307', log)
    # ... to a presigned URL on the S3 server.
    answer = site.curl(
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-u",
        f"alice:{PASSWORD}",
        f"{site.url}/v2/acme/web/blobs/{layers[0]}",
    )
    status, location = answer.stdout.decode().split(" ", 1)
    assert status == "307"
    assert location.startswith(f"{s3_server.url}/{bucket}/{PREFIX}blobs/sha256/")
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=600" in location


def test_it_redirects_a_cached_squash_to_its_object_in_the_bucket(s3_site, tmp_path):
    site, bucket, s3_server = s3_site
    # A second repository (imported): the worker indexes and squashes from the bucket.
    site.import_image(require_debian_app(), "acme/app:v1")
    robot, token = site.stack.create_robot("acme", "deployer", {"app": "read"})
    url = site.squash_url("acme/app", "v1")
    first, second = tmp_path / "first.tar", tmp_path / "second.tar"
    cold = site.curl(
        "-fL",
        "-u",
        f"{robot}:{token}",
        "-o",
        str(first),
        "-w",
        "%{http_code} %{num_redirects}",
        url,
    )
    assert cold.stdout.decode() == "200 0"  # built and streamed by us
    # The follower is done before the worker has hashed and assembled the segments.
    wait_for(lambda: site.squash_rows("acme/app")[0]["state"] == "ready", what="ready")
    row = site.squash_rows("acme/app")[0]
    assert sha256_file(first) == row["sha256"]

    # The build went to the bucket as segments, assembled into one object before "ready".
    key = f"{PREFIX}squash/blobs/{row['id']}.{row['attempt']}.tar"
    assert bucket_keys(s3_server, bucket, f"{PREFIX}squash/") == [key]
    assert bucket_keys(s3_server, bucket, f"{PREFIX}indexes/sha256/")  # indexes too

    cached = site.curl(
        "-fL",
        "-u",
        f"{robot}:{token}",
        "-o",
        str(second),
        "-w",
        "%{http_code} %{num_redirects} %{url_effective}",
        url,
    )
    status, redirects, effective = cached.stdout.decode().split(" ", 2)
    assert (status, redirects) == ("200", "1")
    assert effective.startswith(f"{s3_server.url}/{bucket}/{key}?")
    assert sha256_file(second) == sha256_file(first) == row["sha256"]
    listing = subprocess.run(
        [require("tar"), "-tf", str(second)], capture_output=True, text=True, check=True
    )
    assert "manifest.json" in listing.stdout.split()

    # The redirect itself: 307, our ETag, and the file name carried into the presigned URL.
    headers = site.curl(
        "-sS", "-D", "-", "-o", "/dev/null", "-u", f"{robot}:{token}", url
    ).stdout.decode()
    assert headers.startswith("HTTP/1.1 307")
    location = re.search(r"(?im)^location: (\S+)", headers)[1]
    assert 'filename="app-v1.tar"' in unquote(location)
    assert re.search(rf'(?im)^etag: "{row["sha256"]}"', headers)
    # Pull logs are written after the response, off the request: give the last one a moment.
    wait_for(
        lambda: (
            [(log["source"], log["status"]) for log in site.pull_logs("acme/app")[-2:]]
            == [("cache", 307)] * 2
        ),
        what="two cached pulls logged with status 307",
    )

    # Eviction (beyond the readers' grace period) takes the object.
    result = json.loads(
        site.stack.manage(
            "gc", "--max-bytes", "0", env={"QS_SQUASH_EVICT_GRACE_SECONDS": "0"}
        ).stdout
    )
    assert result["evicted"] >= 1
    assert bucket_keys(s3_server, bucket, f"{PREFIX}squash/") == []

    worker_log = site.stack.worker_log.read_text()
    for text in (worker_log, site.stack.web_log.read_text()):
        assert s3_server.secret_access_key not in text
        assert "X-Amz-Signature" not in text  # presigned URLs are credentials too

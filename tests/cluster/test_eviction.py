"""One squash cache budget for the whole fleet: eviction on one host frees it for all."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import requests

from tests.squash.images import make_layout

pytestmark = pytest.mark.integration

# Room for one 1 MiB squash, not for two.
BUDGET = 1536 * 1024
# No reader's lease: the squashes were just pulled, and nothing reads them while gc runs.
CLUSTER_ENV = {"QS_SQUASH_CACHE_MAX_BYTES": str(BUDGET), "QS_SQUASH_EVICT_GRACE_SECONDS": "0"}
PUSH_DEBIAN_APP = False


def _fleet_copies(cluster, size: int, sha256: str) -> list[str]:
    """Every copy of a squash anywhere in the fleet: any host's disk, the shared directory,
    the bucket (found by size and hash, whatever the storage layout)."""
    found = []
    for path in cluster.workdir.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_size != size:
                continue
            if "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                found.append(str(path))
        except FileNotFoundError:  # removed while we looked
            continue
    if cluster.s3 is not None:
        client = cluster.s3.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=cluster.bucket):
            for obj in page.get("Contents", []):
                if obj["Size"] != size:
                    continue
                body = client.get_object(Bucket=cluster.bucket, Key=obj["Key"])["Body"].read()
                if "sha256:" + hashlib.sha256(body).hexdigest() == sha256:
                    found.append(f"s3://{cluster.bucket}/{obj['Key']}")
    return found


def test_it_evicts_on_one_host_what_every_host_then_sees_missing(cluster_site, tmp_path: Path):
    site = cluster_site
    for name in ("old", "new"):
        layout = make_layout(tmp_path / name, [{f"{name}.bin": os.urandom(1 << 20)}])
        site.import_image(layout, f"acme/{name}")
    # Built through different hosts; "old" is the least recently used.
    old = requests.get(site.squash_url(site.web_a, "acme/old"), auth=site.auth, timeout=120)
    site.wait_state(site.web_a, "acme/old", "ready")
    new = requests.get(site.squash_url(site.web_b, "acme/new"), auth=site.auth, timeout=120)
    site.wait_state(site.web_b, "acme/new", "ready")
    assert old.status_code == new.status_code == 200
    [old_row] = site.squash_rows("acme/old")
    assert old_row["size"] + site.squash_rows("acme/new")[0]["size"] > BUDGET
    assert _fleet_copies(site.cluster, old_row["size"], old_row["sha256"])  # it is stored

    result = json.loads(site.cluster.manage("gc", node="web-a").stdout)

    assert result["evicted"] == 1 and result["total_bytes"] <= BUDGET, result
    for web in site.cluster.webs:
        assert site.state(web, "acme/old")["state"] == "missing", web.name
        assert site.state(web, "acme/new")["state"] == "ready", web.name
    assert site.squash_rows("acme/old") == []
    # Freed everywhere: no host, directory or bucket keeps the evicted bytes.
    assert _fleet_copies(site.cluster, old_row["size"], old_row["sha256"]) == []
    # The kept one is still served from the cache, by the other host too.
    kept = requests.get(site.squash_url(site.web_b, "acme/new"), auth=site.auth, timeout=120)
    assert kept.status_code == 200 and kept.headers.get("X-Squash-Source") != "build"
    assert site.squash_rows("acme/new")[0]["attempt"] == 1
    # The evicted one is rebuilt on demand, on either host.
    again = requests.get(site.squash_url(site.web_b, "acme/old"), auth=site.auth, timeout=120)
    assert again.status_code == 200 and len(again.content) == old_row["size"]

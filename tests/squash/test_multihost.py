"""Two hosts of one installation: separate var dirs, scratch and processes, sharing only the
database, Redis and the storage (a directory both mount, or a bucket).

Host A runs only a web server; host B runs a web server and the only worker. Everything a
request on A needs must therefore come through the shared storage: the segments of a build
running on B, the finished squash, the chunks of an upload session another host started.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.s3_server import S3Server
from tests.support.stack import Stack
from tests.support.tools import require, require_debian_app
from tests.support.waiting import wait_for

from .conftest import FAST_DEAD_WORKER, PASSWORD


@dataclass
class Pair:
    a: Stack  # web only
    b: Stack  # web and the worker
    robot: str
    token: str
    workdir: Path

    def squash_url(self, stack: Stack, repo: str, tag: str, **query: str) -> str:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{stack.url}/c1/squash/{repo}/{tag}" + (f"?{qs}" if qs else "")

    def rows(self, repo: str) -> list[dict]:
        return self.b.squash_rows(
            repo, "id", "state", "attempt", "sha256", "size", "worker", "format"
        )


@pytest.fixture(scope="module", params=["shared-directory", "s3"])
def pair(request) -> Iterator[Pair]:
    workdir = Path(tempfile.mkdtemp(prefix="qs2host-"))
    # A build slow enough (debian-app: about 5 s) that host A surely follows it mid-way.
    env = {**FAST_DEAD_WORKER, "QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND": str(40 * 1024 * 1024)}
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        env.update(s3.env(s3.create_bucket(), prefix="fleet/"))
    b = Stack(
        workdir / "b", outer_database_url=os.environ.get("DATABASE_URL"), extra_env=env
    ).start()
    a = None
    try:
        a = Stack(workdir / "a", extra_env=env, peer=b, worker=False).start()
        b.create_user("alice", PASSWORD)
        b.create_org("acme", "alice")
        b.import_image(f"{require_debian_app()}:latest", "acme/web:v1")
        robot, token = b.create_robot("acme", "deployer", {"web": "read"})
        yield Pair(a, b, robot, token, workdir)
    finally:
        if a is not None:
            a.stop()
        b.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_it_follows_a_build_on_another_host_to_the_exact_length(pair):
    assert pair.a.worker is None and pair.a.var_dir != pair.b.var_dir
    out = pair.workdir / "cold.tar"
    result = subprocess.run(
        [require("curl"), "-fsS", "-D", "-", "-o", str(out), "-u", f"{pair.robot}:{pair.token}",
         pair.squash_url(pair.a, "acme/web", "v1")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    headers = result.stdout.lower()
    assert "x-squash-source: build" in headers  # streamed while host B's worker built it
    length = int(headers.split("content-length:")[1].split()[0])
    # Followers finish before the worker hashes and assembles what they already received.
    wait_for(lambda: pair.rows("acme/web")[0]["state"] == "ready", what="the build to finish")
    [row] = pair.rows("acme/web")
    assert row["attempt"] == 1
    assert length == row["size"] == out.stat().st_size
    with open(out, "rb") as fh:
        assert "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest() == row["sha256"]
    listing = subprocess.run([require("tar"), "-tf", str(out)], capture_output=True, text=True)
    assert listing.returncode == 0 and "manifest.json" in listing.stdout.split()
    # Host A's disk holds no squash: its scratch is empty, its var dir has no storage.
    assert not any((pair.a.scratch_dir / "staging").glob("squash-*"))


def test_it_serves_a_squash_built_on_another_host_without_rebuilding(pair):
    url = pair.squash_url(pair.a, "acme/web", "v1")
    auth = (pair.robot, pair.token)
    requests.get(pair.squash_url(pair.b, "acme/web", "v1"), auth=auth).raise_for_status()
    wait_for(lambda: pair.rows("acme/web")[0]["state"] == "ready", what="the build to finish")
    [row] = pair.rows("acme/web")
    got = requests.get(url, auth=auth)  # follows the presigned redirect on S3
    assert got.status_code == 200
    assert "sha256:" + hashlib.sha256(got.content).hexdigest() == row["sha256"]
    ranged = requests.get(url, auth=auth, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == got.content[100:200]
    [after] = pair.rows("acme/web")
    assert (after["attempt"], after["state"]) == (1, "ready")  # never rebuilt for host A


def test_it_finishes_an_upload_session_across_hosts(pair):
    data = os.urandom(3 * 1024 * 1024 + 11)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    auth = ("alice", PASSWORD)
    started = requests.post(f"{pair.a.url}/v2/acme/pushed/blobs/uploads/", auth=auth)
    assert started.status_code == 202, started.text
    path = started.headers["Location"]
    half = len(data) // 2
    first = requests.patch(
        pair.b.url + path, data=data[:half], auth=auth,
        headers={"Content-Range": f"0-{half - 1}", "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert first.status_code == 202, first.text
    skipped = requests.patch(
        pair.a.url + path, data=data[half + 10 :], auth=auth,
        headers={"Content-Range": f"{half + 10}-{len(data) - 1}"},
    )  # fmt: skip
    assert skipped.status_code == 416 and skipped.headers["Range"] == f"0-{half - 1}"
    status = requests.get(pair.a.url + path, auth=auth)  # a resuming client asks where it is
    assert status.status_code == 204 and status.headers["Range"] == f"0-{half - 1}"
    second = requests.patch(
        pair.a.url + path, data=data[half:], auth=auth,
        headers={"Content-Range": f"{half}-{len(data) - 1}"},
    )  # fmt: skip
    assert second.status_code == 202, second.text
    done = requests.put(f"{pair.a.url}{path}?digest={digest}", auth=auth)
    assert done.status_code == 201, done.text
    fetched = requests.get(f"{pair.b.url}/v2/acme/pushed/blobs/{digest}", auth=auth)
    assert fetched.status_code == 200 and fetched.content == data


def test_it_cuts_followers_short_when_the_building_host_dies_and_rebuilds_elsewhere(pair):
    auth = f"{pair.robot}:{pair.token}"
    pair.b.import_image(f"{require_debian_app()}:latest", "acme/dies:v1")
    pair.b.grant(pair.robot, "acme/dies", "read")
    url = pair.squash_url(pair.a, "acme/dies", "v1")
    out = pair.workdir / "cut.tar"
    follower = subprocess.Popen(
        [require("curl"), "-fsS", "-o", str(out), "-u", auth, url], stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: out.exists() and out.stat().st_size > 0, what="the first bytes on A")
        pair.b.kill_worker()  # the building host dies
        assert follower.wait(timeout=120) == 18, follower.stderr.read()  # cut short of its length
    finally:
        follower.kill()
    [dead] = pair.rows("acme/dies")
    assert dead["state"] != "ready" and out.stat().st_size < dead["size"]
    pair.a.start_worker()  # another host takes over
    try:
        again = pair.workdir / "again.tar"
        subprocess.run(
            [require("curl"), "-fsS", "-o", str(again), "-u", auth, url], check=True, timeout=300
        )
        wait_for(lambda: pair.rows("acme/dies")[0]["state"] == "ready", what="the rebuild")
        [row] = pair.rows("acme/dies")
        assert row["attempt"] >= 2 and again.stat().st_size == row["size"]
        assert row["worker"] != dead["worker"]  # built by host A's worker this time
    finally:
        pair.a.kill_worker()
        pair.b.start_worker()

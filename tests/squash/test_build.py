"""quaysquash.squash.build: single-flight builds and what happens when they go wrong, on a stack
and in-process on the pytest-django database."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from quaysquash.squash import build, cache
from quaysquash.storage import blob_key, get_storage
from tests.support.commands import MANAGE
from tests.support.tools import DEBIAN_APP, require

from .conftest import cache_key
from .images import layer_digests, make_layout


def _blob_path(stack, digest: str) -> Path:
    hexpart = digest.split(":", 1)[1]
    return stack.storage_root / "blobs" / "sha256" / hexpart[:2] / hexpart


def _sha256_of(url: str, auth) -> tuple[int, str, int]:
    with requests.get(url, auth=auth, stream=True, timeout=300) as response:
        digest = hashlib.sha256()
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
        return (
            response.status_code,
            "sha256:" + digest.hexdigest(),
            int(response.headers.get("Content-Length", -1)),
        )


def test_it_builds_once_for_20_concurrent_cold_requests(slow_site):
    site = slow_site  # a 1 s build: all 20 requests arrive while it runs
    site.import_image(_unique_layout(site, "conc", 40 << 20), "acme/conc:v1")
    site.stack.grant(site.robot, "acme/conc", "read")
    url = site.squash_url("acme/conc", "v1")
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: _sha256_of(url, site.auth), range(20)))
    rows = site.settled_rows("acme/conc")
    assert len(rows) == 1
    assert rows[0]["attempt"] == 1  # exactly one build started
    assert {status for status, _, _ in results} == {200}
    assert {digest for _, digest, _ in results} == {rows[0]["sha256"]}
    assert {length for _, _, length in results} == {rows[0]["size"]}
    logs = site.pull_logs("acme/conc")
    assert len(logs) == 20 and all(log["complete"] for log in logs)
    assert {log["source"] for log in logs} == {"build"}  # all followed the one build


def _unique_layout(site, name: str, size: int = 256 * 1024) -> Path:
    # Random content: a blob of its own that no other image shares, so corrupting it is safe.
    return make_layout(
        site.workdir / name, [{"data.bin": os.urandom(size)}, {"etc/motd": name.encode()}]
    )


def test_it_reports_a_corrupt_layer_and_remembers_it_until_the_row_is_deleted(site):
    layout = _unique_layout(site, "corrupt")
    # Imported without indexing on push: an index made now (and kept in some worker's memory)
    # would let the build plan and send headers before it meets the corrupt blob.
    site.stack.manage(
        "import_image", f"{layout}:latest", "acme/corrupt:v1",
        env={"QS_SQUASH_INDEX_ON_PUSH": "false"},
    )  # fmt: skip
    site.stack.grant(site.robot, "acme/corrupt", "read")
    blob = _blob_path(site.stack, layer_digests(layout)[0])
    good = blob.read_bytes()
    blob.write_bytes(good[:1000] + bytes(len(good) - 1000))
    try:
        url = site.squash_url("acme/corrupt", "v1")
        response = requests.get(url, auth=site.auth)
        assert response.status_code == 500
        message = response.json()["errors"][0]["message"]
        assert layer_digests(layout)[0] in message
        state = requests.get(site.state_url("acme/corrupt", "v1"), auth=site.auth).json()
        assert state["state"] == "failed" and state["error"] == message
    finally:
        blob.write_bytes(good)
    # A content failure is remembered for the key: answered at once, not rebuilt...
    again = requests.get(url, auth=site.auth)
    assert again.status_code == 500 and again.json()["errors"][0]["message"] == message
    assert [r["attempt"] for r in site.squash_rows("acme/corrupt")] == [1]
    # ...until an operator deletes the row (admin), after repairing the storage.
    site.stack.python(
        "from quaysquash.squash.models import SquashedImage\n"
        "SquashedImage.objects.filter(repository__name='corrupt').delete()"
    )
    status, digest, _ = _sha256_of(url, site.auth)
    assert status == 200
    site.wait_state("acme/corrupt", "v1", "ready", timeout=120)
    rows = site.squash_rows("acme/corrupt")
    assert rows[0]["state"] == "ready" and rows[0]["attempt"] == 1
    assert digest == rows[0]["sha256"]


def test_it_cuts_the_stream_short_when_a_build_fails_after_its_headers(slow_site, tmp_path: Path):
    site = slow_site  # throttled: the corrupt tail is met seconds after the headers went out
    layout = _unique_layout(site, "midway", 40 << 20)
    site.import_image(layout, "acme/midway:v1")
    site.stack.grant(site.robot, "acme/midway", "read")
    # The first build indexes the layers; the second format then plans from the indexes and
    # only meets the corrupt blob while streaming, after Content-Length went out.
    assert _sha256_of(site.squash_url("acme/midway", "v1"), site.auth)[0] == 200
    blob = _blob_path(site.stack, layer_digests(layout)[0])
    good = blob.read_bytes()
    blob.write_bytes(good[: len(good) - 4096] + bytes(4096))
    try:
        out = tmp_path / "cut.tar"
        result = site.download(
            out, site.squash_url("acme/midway", "v1", format="rootfs"), check=False
        )
        assert result.returncode == 18, result.stderr  # partial file: transfer closed early
        row = next(r for r in site.squash_rows("acme/midway") if r["format"] == "rootfs")
        assert row["state"] == "failed" and row["error"]
        assert out.stat().st_size < (row["size"] or 1 << 40)
    finally:
        blob.write_bytes(good)


def test_it_fails_followers_when_the_worker_is_killed_and_rebuilds_next_time(
    slow_site, tmp_path: Path
):
    site = slow_site
    url = site.squash_url("acme/web", "v1")
    curl = require("curl")
    outs = [tmp_path / f"pull{i}.tar" for i in range(3)]
    pulls = [
        subprocess.Popen(
            [curl, "-sSf", "-u", f"{site.robot}:{site.token}", "-o", str(out), url],
            stderr=subprocess.PIPE,
        )
        for out in outs
    ]
    site.wait_state("acme/web", "v1", "building")
    deadline = time.monotonic() + 60
    while requests.get(site.state_url("acme/web", "v1"), auth=site.auth).json()["bytes_written"] < (
        10 << 20
    ):
        assert time.monotonic() < deadline, "the build never made progress"
        time.sleep(0.2)
    site.stack.kill_worker()
    try:
        codes = [p.wait(timeout=60) for p in pulls]
        assert all(code == 18 for code in codes), codes  # cut short, not a clean end
        size = site.squash_rows("acme/web")[0]["size"]
        assert all(out.stat().st_size < size for out in outs)
        state = site.wait_state("acme/web", "v1", "failed", timeout=30)
        assert "stopped responding" in state["error"]
    finally:
        site.stack.start_worker()
    final = tmp_path / "final.tar"
    site.download(final, url, timeout=600)
    # The pull followed the rebuild to its last byte; the worker hashes and assembles after.
    site.wait_state("acme/web", "v1", "ready", timeout=120)
    row = site.squash_rows("acme/web")[0]
    assert row["state"] == "ready" and row["attempt"] == 2
    assert "sha256:" + hashlib.sha256(final.read_bytes()).hexdigest() == row["sha256"]
    assert final.stat().st_size == row["size"]
    logs = site.pull_logs("acme/web")
    assert [log["complete"] for log in logs] == [False, False, False, True]


def test_it_keeps_building_when_the_client_disconnects(slow_site):
    site = slow_site
    site.import_image(DEBIAN_APP, "acme/gone:v1")
    site.stack.grant(site.robot, "acme/gone", "read")
    response = requests.get(site.squash_url("acme/gone", "v1"), auth=site.auth, stream=True)
    assert response.status_code == 200
    next(response.iter_content(1 << 16))
    response.close()
    state = site.wait_state("acme/gone", "v1", "ready", timeout=120)
    assert state["size"] and state["builds"] == 1


WORKER_OF_REQUEUE = """
import time
from quaysquash.squash.models import SquashedImage as S
print("watching", flush=True)
for _ in range(1200):
    worker = S.objects.filter(repository__name="requeue").exclude(worker="")
    worker = worker.values_list("worker", flat=True).first()
    if worker:
        print(worker, flush=True)
        break
    time.sleep(0.05)
"""


def test_it_requeues_the_build_when_only_the_pool_process_dies(slow_site, tmp_path: Path):
    """SIGKILL of the pool process alone: Celery re-queues the late-acknowledged task and its
    new run takes the build over as a new attempt, without any request asking."""
    site = slow_site
    site.import_image(DEBIAN_APP, "acme/requeue:v1")
    site.stack.grant(site.robot, "acme/requeue", "read")
    url = site.squash_url("acme/requeue", "v1")
    out = tmp_path / "pull.tar"
    # Django starts (seconds on a loaded machine) before the build does, so the building
    # process is known at once, well before the throttled build could end.
    watcher = subprocess.Popen(
        [sys.executable, str(MANAGE), "shell", "-v0", "-c", WORKER_OF_REQUEUE],
        env=site.stack.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None and watcher.stdout.readline().strip() == "watching"
    follower = subprocess.Popen(
        [require("curl"), "-sSf", "-u", f"{site.robot}:{site.token}", "-o", str(out), url]
    )
    worker = watcher.stdout.readline().strip()
    assert watcher.wait(timeout=60) == 0 and worker, "the build never claimed a worker"
    pid = int(worker.rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while True:
        state = requests.get(site.state_url("acme/requeue", "v1"), auth=site.auth).json()
        if state["bytes_written"] > (10 << 20):
            break
        assert state["state"] == "building", f"the build ended before the kill: {state}"
        assert time.monotonic() < deadline, f"the build never made progress: {state}"
        time.sleep(0.05)
    assert pid != site.stack.worker_pid
    os.kill(pid, 9)
    assert follower.wait(timeout=60) == 18  # its bytes came from the dead run: cut
    state = site.wait_state("acme/requeue", "v1", "ready", timeout=120)
    assert state["builds"] == 2  # the requeued task rebuilt it; no request did
    status, digest, _ = _sha256_of(url, site.auth)
    assert status == 200 and digest == state["sha256"]


# quaysquash.squash.build in-process, on the pytest-django database (no servers).


def test_it_lets_a_redelivered_task_take_over_but_not_a_duplicate(tiny):
    tag, _ = tiny
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert build.claim(image.pk, "task-1") is not None
    assert build.claim(image.pk, "task-2") is None  # task-1 is alive (fresh heartbeat)
    taken = build.claim(image.pk, "task-1")  # its own message, redelivered: the run died
    assert taken is not None
    assert taken.attempt == 2  # a new attempt: followers of the dead run are cut


def test_it_builds_in_process_and_publishes_atomically(tiny, squash_dirs):
    tag, layout = tiny
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, "h/acme/tiny:v1")
    assert build.build(image.pk, "task-1") == "ready"
    image.refresh_from_db()
    data = get_storage().read_bytes(cache.object_key(image.file_name))
    assert image.state == "ready" and image.size == len(data) == image.bytes_written
    assert image.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert list(get_storage().list("squash/partial/")) == []  # segments gone once assembled
    assert list(get_storage().staging_dir().iterdir()) == []  # and the build's scratch
    for digest in layer_digests(layout):
        assert cache.index_exists(digest)
    assert build.build(image.pk, "task-2") == "skipped"  # already ready


def test_it_fails_the_row_and_removes_the_partial_on_a_corrupt_layer(tiny, squash_dirs):
    tag, layout = tiny
    blob = get_storage().local_path(blob_key(layer_digests(layout)[0]))
    blob.write_bytes(b"not gzip at all")
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert build.build(image.pk, "task-1") == "failed"
    image.refresh_from_db()
    assert image.state == "failed"
    assert layer_digests(layout)[0] in image.error
    assert list(get_storage().list("squash/")) == []


def test_it_keeps_load_or_index_public_and_stores_each_index_once(tiny, squash_dirs):
    _, layout = tiny
    digest = layer_digests(layout)[0]
    index = build.load_or_index(digest)
    assert cache.index_exists(digest)
    build.load_or_index.cache_clear()
    again = build.load_or_index(digest)  # from the shared storage, not recomputed
    assert again.to_bytes() == index.to_bytes()

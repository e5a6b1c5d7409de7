"""A worker host that dies mid-build: its followers on every web host fail loudly, the other
worker host rebuilds on the next pull."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.tools import require

from .conftest import FAST_DEAD_WORKER, SLOWER_BUILDS, sha256_of

pytestmark = pytest.mark.integration

CLUSTER_ENV = {**SLOWER_BUILDS, **FAST_DEAD_WORKER}


def test_it_fails_followers_when_the_building_worker_dies_and_rebuilds_on_the_other(
    cluster_site, tmp_path: Path
):
    site = cluster_site
    outs = [tmp_path / f"follower-{web.name}.tar" for web in site.cluster.webs]
    followers = [
        subprocess.Popen(
            [
                require("curl"),
                "-sSf",
                "-u",
                f"{site.robot}:{site.token}",
                "-o",
                str(out),
                site.squash_url(web, "acme/web"),
            ],
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for web, out in zip(site.cluster.webs, outs, strict=True)
    ]
    deadline = time.monotonic() + 60
    while (state := site.state(site.web_b, "acme/web"))["bytes_written"] < (10 << 20):
        assert state["state"] in ("missing", "building"), state  # missing: not asked yet
        assert time.monotonic() < deadline, f"the build never made progress: {state}"
        time.sleep(0.2)
    victim = site.building_worker("acme/web")
    survivor = next(w for w in site.cluster.workers if w is not victim)
    site.cluster.kill_worker(victim)
    try:
        codes = [follower.wait(timeout=60) for follower in followers]
        # 18: the connection closed short of Content-Length (not a clean end, not an error page).
        assert codes == [18, 18], [f.stderr.read() for f in followers]
        size = site.squash_rows("acme/web")[0]["size"]
        assert all(out.stat().st_size < size for out in outs)
        state = site.wait_state(site.web_a, "acme/web", "failed", timeout=30)
        assert "stopped responding" in state["error"]
        final = tmp_path / "final.tar"
        pull = site.curl(
            "-f", "-u", f"{site.robot}:{site.token}", "-o", str(final),
            site.squash_url(site.web_b, "acme/web"),
        )  # fmt: skip
        assert pull.returncode == 0, pull.stderr
        site.wait_state(site.web_b, "acme/web", "ready")
        [row] = site.squash_rows("acme/web")
        assert row["state"] == "ready" and row["attempt"] == 2
        assert site.builder_of(row) is survivor
        assert final.stat().st_size == row["size"] and sha256_of(final) == row["sha256"]
        logs = site.pull_logs("acme/web")
        assert [log["complete"] for log in logs] == [False, False, True]
    finally:
        site.cluster.start_worker(victim)

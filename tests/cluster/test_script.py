"""``scripts/cluster``, as a person runs it to see the topology: here on Ceph's radosgw, until
Ctrl-C; the demo it seeds is squashed and served through its balancer."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.tools import require, require_debian_app
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _banner(proc: subprocess.Popen, lines: queue.Queue, timeout: float) -> str:
    """The output up to the end of the banner (the blank line after the demo's curl command)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"scripts/cluster exited ({proc.wait()}):\n{''.join(seen)}")
        seen.append(line)
        text = "".join(seen)
        if (
            "quaysquash cluster is running" in text
            and "c1/squash/" in text
            and text.endswith("\n\n")
        ):
            return text
    raise AssertionError(f"no banner within {timeout}s:\n{''.join(seen)}")


@pytest.mark.integration
def test_it_runs_on_radosgw_until_interrupted_and_serves_the_demo_squash(tmp_path):
    require_debian_app()  # seed_demo imports it
    for tool in ("radosgw", "ceph-mon", "ceph-osd", "redis-server", "initdb"):
        require(tool)
    workdir = tmp_path / "cluster"
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "cluster"), "--s3-server", "radosgw", "--workdir", str(workdir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        banner = _banner(proc, lines, timeout=300)
        assert re.search(r"storage:\s+S3 \(radosgw\) at http://127\.0\.0\.1:\d+", banner)
        balancer = re.search(r"balancer \(public name\):\s+(\S+)/", banner)[1]
        robot = re.search(r"robot:\s+(\S+)", banner)[1]
        token = re.search(r"robot token:\s+(\S+)", banner)[1]

        out = tmp_path / "web.tar"
        state = f"{balancer}/api/v1/repository/acme/web/tag/v1/squash"
        for source in ("build", "cache"):  # cold through the balancer, then the redirect
            with requests.get(
                f"{balancer}/c1/squash/acme/web/v1", auth=(robot, token), stream=True, timeout=300
            ) as response:
                assert response.status_code == 200, response.text[:500]
                if source == "cache":
                    assert [r.status_code for r in response.history] == [307]
                    assert response.url.startswith("http://127.0.0.1:")  # the gateway's URL
                with open(out, "wb") as fh:
                    for chunk in response.iter_content(1 << 20):
                        fh.write(chunk)
            with tarfile.open(out) as archive:
                assert "manifest.json" in archive.getnames(), source
            if source == "build":  # a followed pull ends before the worker names the file
                wait_for(
                    lambda: (
                        requests.get(state, auth=(robot, token), timeout=10).json()["state"]
                        == "ready"
                    ),
                    timeout=120,
                    what="the demo squash to be ready",
                )

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        assert not workdir.exists()  # no --keep: the hosts' dirs go with it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

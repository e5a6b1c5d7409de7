"""Hostile and inconsistent images through a running stack (uvicorn, Celery worker, Redis),
pushed with skopeo: a 20 GiB-of-zeros gzip layer, a 1 GiB PAX record, a sparse 1 TiB file, and an
image whose layers do not match its config's diff_ids (which ``docker pull`` refuses too).

Each pull is refused quickly with the reason, under the default limits; the failure is
remembered (the next pull answers it at once, no new build); nothing is cached; the image that
was cached before is still served; the worker's processes never go past 200 MB (their VmHWM).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from squashengine.layoutwriter import LayoutWriter
from tests.engine import bombs
from tests.support.tools import require

from .conftest import PASSWORD, SquashSite, _site
from .images import make_layout

MEMORY_BUDGET = 200 << 20
AUTH = ("alice", PASSWORD)


@pytest.fixture(scope="module")
def hostile() -> Iterator[SquashSite]:
    """A stack of its own (fresh worker processes, so their peak memory is this module's), with
    every limit at its default, and acme/tiny:v1 squashed and cached."""
    for site in _site({}, "qshostile-"):
        site.layouts["tiny"] = make_layout(site.workdir / "tiny", [{"t.txt": b"tiny\n"}])
        push(site, site.layouts["tiny"], "acme/tiny:v1")
        cached = requests.get(site.squash_url("acme/tiny", "v1"), auth=AUTH)
        assert cached.status_code == 200
        deadline = time.monotonic() + 60  # the follower may finish before the file is renamed
        while site.squash_rows("acme/tiny")[0]["state"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield site


def push(site: SquashSite, layout: Path, target: str) -> None:
    result = subprocess.run(
        [
            require("skopeo"), "copy", "--dest-tls-verify=false",
            "--dest-creds", f"alice:{PASSWORD}",
            f"oci:{layout}:latest", f"docker://{site.stack.host}/{target}",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def worker_peaks(site: SquashSite) -> dict[int, int]:
    """VmHWM (bytes) of the Celery worker and every process under it (pool, beat)."""
    main = site.stack.worker_pid
    assert main is not None
    parents: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        parents[int(status.parent.name)] = int(fields["PPid"])
    family = {main}
    grew = True
    while grew:
        kids = {pid for pid, ppid in parents.items() if ppid in family} - family
        family |= kids
        grew = bool(kids)
    peaks = {}
    for pid in family:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[pid] = int(line.split()[1]) * 1024
    return peaks


def cached_files(site: SquashSite) -> list[str]:
    blobs = site.stack.cache_dir / "blobs"
    partial = site.stack.cache_dir / "partial"
    return sorted(
        str(p.relative_to(site.stack.cache_dir)) for d in (blobs, partial) for p in d.glob("*")
    )


def refused_twice(site: SquashSite, repo: str, reason: str, within: float) -> str:
    """Pull twice: the first answer (after one quick build) names ``reason``; the second is the
    same answer, at once and without a new build."""
    url = site.squash_url(repo, "v1")
    started = time.monotonic()
    first = requests.get(url, auth=AUTH, timeout=120)
    took = time.monotonic() - started
    assert first.status_code == 500, first.text
    [error] = first.json()["errors"]
    assert error["code"] == "SQUASH_FAILED" and reason in error["message"], error
    assert took < within, f"refused after {took:.1f}s"
    print(f"{repo}: refused in {took:.2f}s")
    started = time.monotonic()
    second = requests.get(url, auth=AUTH, timeout=120)
    again = time.monotonic() - started
    assert second.status_code == 500 and second.json() == first.json()
    [row] = site.squash_rows(repo)
    assert (row["state"], row["attempt"]) == ("failed", 1)  # answered from the row: no build
    assert again < 10, f"the remembered failure took {again:.1f}s"  # (password hashing)
    state = requests.get(site.state_url(repo, "v1"), auth=AUTH).json()
    assert state["state"] == "failed" and state["failure"] == "content" and state["retry_after"]
    head = requests.head(url, auth=AUTH)
    assert head.headers["X-Squash-Cache"] == "failed"
    return error["message"]


BOMBS = {
    # name: (generator, what the error names, seconds allowed for the first answer)
    "zeros": (bombs.zeros_gzip, "max_inflation_ratio=100", 60),
    "pax": (bombs.pax_record_gzip, "max_header_bytes=1048576", 30),
    "sparse": (bombs.gnu_sparse_gzip, "max_output_bytes=68719476736", 30),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_it_refuses_a_bomb_quickly_remembers_it_and_keeps_serving_the_rest(hostile, tmp_path, name):
    make, reason, within = BOMBS[name]
    before = cached_files(hostile)
    bomb = make(tmp_path / "layer")
    try:
        assert bomb.path.stat().st_size < 24 << 20
        push(hostile, bombs.oci_layout(tmp_path / "layout", bomb), f"acme/{name}:v1")
    finally:
        bomb.path.unlink()
        shutil.rmtree(tmp_path / "layout", ignore_errors=True)
    message = refused_twice(hostile, f"acme/{name}", reason, within)
    assert bomb.digest in message
    assert cached_files(hostile) == before  # nothing cached, nothing evicted
    tiny = requests.get(hostile.squash_url("acme/tiny", "v1"), auth=AUTH)
    assert tiny.status_code == 200
    [row] = hostile.squash_rows("acme/tiny")
    assert "sha256:" + hashlib.sha256(tiny.content).hexdigest() == row["sha256"]
    assert row["attempt"] == 1  # served from the cache all along
    peaks = worker_peaks(hostile)
    print(f"{name}: worker VmHWM MiB", {pid: round(v / 2**20, 1) for pid, v in peaks.items()})
    assert max(peaks.values()) < MEMORY_BUDGET, peaks


def _with_wrong_diff_ids(layout: Path) -> Path:
    """The layout's image with its config's diff_ids replaced (digests stay consistent)."""
    blobs = layout / "blobs" / "sha256"
    desc = json.loads((layout / "index.json").read_text())["manifests"][0]
    manifest = json.loads((blobs / desc["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    config["rootfs"]["diff_ids"] = ["sha256:" + "ab" * 32 for _ in config["rootfs"]["diff_ids"]]
    writer = LayoutWriter(layout)
    return writer.finish({"latest": writer.manifest(config, manifest["layers"])})


def test_it_refuses_an_image_whose_layers_do_not_match_its_diff_ids(hostile, dockerd, tmp_path):
    layout = make_layout(tmp_path / "bad", [{"a.txt": b"a\n"}, {"b.txt": b"b\n"}])
    push(hostile, _with_wrong_diff_ids(layout), "acme/badids:v1")
    before = cached_files(hostile)
    message = refused_twice(
        hostile, "acme/badids", "don't match the image configuration", within=30
    )
    assert "layer 0" in message and "ab" * 32 in message
    assert cached_files(hostile) == before
    # The engines refuse it too: docker pull says the same.
    host = hostile.stack.host
    dockerd.docker("login", "-u", "alice", "--password-stdin", host, input=PASSWORD.encode())
    pulled = dockerd.docker("pull", f"{host}/acme/badids:v1", check=False)
    assert pulled.returncode != 0
    assert "don't match image configuration" in pulled.stderr.decode(), pulled.stderr

"""Redis going away and coming back, on a real stack: the worker survives a restart mid-build,
a pull while Redis is down answers 503 at once and leaves no orphan row, and the registry and
the pages that do not need Redis keep working.

One stack for the module, with builds throttled to 20 MB/s (debian-app: about 11 s), so that a
restart surely lands in the middle of a build. Every test leaves Redis running.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.factories import PASSWORD
from tests.squash.images import make_layout
from tests.support import skopeo
from tests.support.stack import Stack
from tests.support.waiting import wait_for
from tests.support.web_session import signed_in

pytestmark = pytest.mark.integration

AUTH = ("alice", PASSWORD)
AUTH_CREDS = f"alice:{PASSWORD}"


@pytest.fixture(scope="module")
def stack(throttled_stack: Stack) -> Stack:
    return throttled_stack


@pytest.fixture
def redis_back(stack: Stack) -> Iterator[None]:
    """Whatever a test does to Redis, the next test finds it running with a worker on it."""
    yield
    if not stack.redis.child or not stack.redis.child.alive():
        stack.redis.start()
    stack.wait_worker(timeout=90)


def squash_url(stack: Stack, repo: str, tag: str, **query: str) -> str:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{stack.url}/c1/squash/{repo}/{tag}" + (f"?{qs}" if qs else "")


def rows(stack: Stack, repo: str) -> list[dict]:
    return stack.squash_rows(repo, "state", "task_id", "error", "sha256")


def pull_whole(stack: Stack, repo: str, tag: str, **query: str) -> tuple[int, str]:
    """Pull a squash to the end; returns (bytes, sha256) after checking Content-Length."""
    with requests.get(
        squash_url(stack, repo, tag, **query), auth=AUTH, stream=True, timeout=300
    ) as response:
        assert response.status_code == 200, response.text[:500]
        digest = hashlib.sha256()
        size = 0
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        assert size == int(response.headers["Content-Length"])
    return size, "sha256:" + digest.hexdigest()


def test_it_keeps_the_worker_through_a_redis_restart_mid_build(
    stack: Stack, redis_back: None, tmp_path: Path
) -> None:
    worker_pid = stack.worker_pid
    with requests.get(
        squash_url(stack, "acme/web", "v1"), auth=AUTH, stream=True, timeout=300
    ) as response:
        assert response.status_code == 200
        chunks = response.iter_content(1 << 20)
        first = next(chunks)  # the build is writing now
        digest, size = hashlib.sha256(first), len(first)
        stack.redis.stop()
        time.sleep(1)
        stack.redis.start()
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        assert size == int(response.headers["Content-Length"])
    # The pull ends at Content-Length; the worker hashes and assembles the file after that.
    wait_for(lambda: rows(stack, "acme/web")[0]["state"] == "ready", timeout=120, what="ready")
    row = rows(stack, "acme/web")[0]
    assert row["state"] == "ready" and row["sha256"] == "sha256:" + digest.hexdigest()
    assert stack.worker_pid == worker_pid, stack.log_tails()
    log = stack.worker_log.read_text(errors="replace")
    assert "Unrecoverable error" not in log
    # The same worker consumes again: a new build runs to the end.
    stack.wait_worker(timeout=90)
    layout = make_layout(tmp_path / "after", [{"after.txt": b"after the restart\n"}])
    stack.import_image(f"{layout}:latest", "acme/after:v1")
    pulled, sha = pull_whole(stack, "acme/after", "v1")
    wait_for(lambda: rows(stack, "acme/after")[0]["state"] == "ready", timeout=120, what="ready")
    assert pulled > 0 and rows(stack, "acme/after")[0]["sha256"] == sha
    assert stack.worker_pid == worker_pid


def test_it_answers_503_at_once_while_redis_is_down_and_builds_once_it_is_back(
    stack: Stack, redis_back: None, tmp_path: Path
) -> None:
    layout = make_layout(tmp_path / "down", [{"down.txt": b"pulled while redis was down\n"}])
    stack.import_image(f"{layout}:latest", "acme/down:v1")
    stack.redis.stop()
    started = time.monotonic()
    response = requests.get(squash_url(stack, "acme/down", "v1"), auth=AUTH, timeout=60)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert elapsed < 2.5, f"503 took {elapsed:.1f}s"
    # No row waits for a task that was never queued.
    assert [r["state"] for r in rows(stack, "acme/down")] == ["failed"]
    # A second pull while still down answers the same, quickly (no hanging follower).
    started = time.monotonic()
    again = requests.get(squash_url(stack, "acme/down", "v1"), auth=AUTH, timeout=60)
    assert again.status_code == 503 and time.monotonic() - started < 2.5
    # Priming from the UI's API says the same, in JSON.
    prime = requests.post(
        f"{stack.url}/api/v1/repository/acme/down/tag/v1/squash", auth=AUTH, timeout=60
    )
    assert prime.status_code == 503 and prime.json()["errors"][0]["code"] == "UNAVAILABLE"

    stack.redis.start()
    stack.wait_worker(timeout=90)
    pulled, sha = pull_whole(stack, "acme/down", "v1")
    wait_for(lambda: rows(stack, "acme/down")[0]["state"] == "ready", timeout=120, what="ready")
    [row] = rows(stack, "acme/down")
    assert pulled > 0 and row["state"] == "ready" and row["sha256"] == sha


def test_it_accepts_pushes_and_serves_pages_while_redis_is_down(
    stack: Stack, redis_back: None, tmp_path: Path
) -> None:
    layout = make_layout(tmp_path / "push", [{"pushed.txt": b"pushed while redis was down\n"}])
    stack.create_repository("acme/pushed", auto_prime=True)
    stack.redis.stop()
    started = time.monotonic()
    skopeo.push(f"oci:{layout}:latest", f"docker://{stack.host}/acme/pushed:v1", AUTH_CREDS)
    assert time.monotonic() - started < 30
    tags = requests.get(f"{stack.url}/v2/acme/pushed/tags/list", auth=AUTH, timeout=10)
    assert tags.status_code == 200 and tags.json()["tags"] == ["v1"]
    # The pages: sign in (a session write) and open the repository.
    session = signed_in(stack.url, "alice", PASSWORD)
    page = session.get(f"{stack.url}/repository/acme/pushed", timeout=10)
    assert page.status_code == 200 and "v1" in page.text
    # Auto-prime could not queue its build: the row says so instead of waiting for nothing.
    wait_for(
        lambda: [r["state"] for r in rows(stack, "acme/pushed")] in ([], ["failed"]),
        timeout=30,
        what="no orphan building row",
    )

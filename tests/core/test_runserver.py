"""``manage.py runserver`` serves the ASGI application (uvicorn, with reload): cached squashes
are sent whole and cold ones are streamed while they are built, as under ``serve``.

The command runs as a subprocess on a free port with a real stack's environment (its database,
storage, Redis and worker), builds throttled to 20 MB/s so that a cold pull of debian-app takes
about 11 s and its first byte can be seen to arrive long before the build ends.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from quaysquash.core import processes
from tests.factories import PASSWORD
from tests.support.procfs import descendants, pid_alive
from tests.support.stack import Stack
from tests.support.tools import REPO_ROOT, free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

AUTH = ("alice", PASSWORD)


@pytest.fixture(scope="module")
def stack(throttled_stack: Stack) -> Stack:
    return throttled_stack


@pytest.fixture
def runserver(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    port = free_port()
    log_path = tmp_path / "runserver.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT,
            env=stack.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(
            lambda: processes.http_ok(url + processes.HEALTH_PATH),
            timeout=60,
            what="runserver",
            stop=None,
        )
        yield url, process, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                import os

                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def squash_row(stack: Stack) -> dict:
    out = stack.python(
        "import json\n"
        "from quaysquash.squash.models import SquashedImage as S\n"
        "print(json.dumps(list(S.objects.values('state', 'sha256', 'size'))))"
    )
    return json.loads(out.strip().splitlines()[-1])[0]


def test_it_streams_a_cold_squash_and_sends_a_cached_one(stack: Stack, runserver) -> None:
    url, process, log_path = runserver
    started = time.monotonic()
    with requests.get(f"{url}/c1/squash/acme/web/v1", auth=AUTH, stream=True, timeout=300) as cold:
        assert cold.status_code == 200, cold.text[:500]
        chunks = cold.iter_content(1 << 20)
        first = next(chunks)
        first_byte = time.monotonic() - started
        # Streamed, not buffered: the first bytes arrive while the worker is still writing.
        assert squash_row(stack)["state"] == "building"
        digest, size = hashlib.sha256(first), len(first)
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        total = time.monotonic() - started
        assert size == int(cold.headers["Content-Length"])
    assert first_byte < total / 2, (first_byte, total)
    # The pull ends at Content-Length; the worker hashes and assembles the file after that.
    wait_for(lambda: squash_row(stack)["state"] == "ready", timeout=120, what="ready")
    row = squash_row(stack)
    assert row["state"] == "ready" and row["sha256"] == "sha256:" + digest.hexdigest()

    # The cached one: memoryview chunks from the file map (Django's WSGI server answered 500).
    cached = requests.get(f"{url}/c1/squash/acme/web/v1", auth=AUTH, timeout=300)
    assert cached.status_code == 200
    assert "sha256:" + hashlib.sha256(cached.content).hexdigest() == row["sha256"]

    log = log_path.read_text(errors="replace")
    assert "uvicorn" in log and "Started reloader process" in log, log[-3000:]
    assert process.poll() is None


def test_it_stops_uvicorn_with_it(runserver) -> None:
    _url, process, log_path = runserver
    children = descendants(process.pid)
    assert children, log_path.read_text(errors="replace")[-3000:]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    deadline = time.monotonic() + 10
    while any(pid_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if pid_alive(pid)]

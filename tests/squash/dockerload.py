"""``curl … | docker load`` as a user types it (and as the Fetch Tag modal's command reads):
through bash with ``pipefail``, so that a failed download fails the pipeline, against the
private dockerd of the tests. Shared by the squash, proxy and web tests."""

from __future__ import annotations

import shlex
import subprocess

from tests.support.tools import require


def run_pipeline(command: str, dockerd) -> subprocess.CompletedProcess:
    """Run the shell ``command`` with ``docker`` talking to ``dockerd``; it must succeed."""
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=dockerd.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def curl_into_docker_load(dockerd, creds: str, url: str, decompress: str = "") -> str:
    """``curl -fsSL -u creds url | [decompress] docker load``; returns docker's output."""
    command = (
        f"{shlex.quote(require('curl'))} -fsSL -u {shlex.quote(creds)} {shlex.quote(url)}"
        f" | {decompress}{shlex.quote(dockerd.docker_bin)} load"
    )
    return run_pipeline(command, dockerd).stdout

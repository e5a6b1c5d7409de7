#!/usr/bin/env python3
"""From an empty Docker daemon to ``docker run`` printing: layered ``docker pull`` vs squashed
``docker pull`` (``/v2/squashed/…``) vs ``curl /c1/squash/… | docker load``, on loopback.

    .venv/bin/python bench/squashed_pull.py [--image DIR] [--runs 5]

Starts a private stack (uvicorn, Celery worker, Redis) and a private dockerd, imports the image,
builds both squashes once (the figures are of cached squashes: what every pull after the first
gets), then per run and method: removes every image from the daemon, pulls, and runs
``python3 /opt/app/main2.py`` with ``--pull never``. (Debian's Docker 20.10 cannot unpack
zstd layers, so ``squashed-zstd`` is not measured here.) Bytes on the wire are the blob sizes the
manifests name (layers and config) or the squash's Content-Length. Prints best and median.
Target: squashed pull <= 0.8x layered.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

from tests.support.dockerd import Dockerd  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP  # noqa: E402

COMMAND = ["python3", "/opt/app/main2.py"]
OCI = "application/vnd.oci.image.manifest.v1+json"


def empty(dockerd: Dockerd) -> None:
    ids = dockerd.docker("images", "-aq").stdout.decode().split()
    if ids:
        dockerd.docker("rmi", "-f", *sorted(set(ids)))


def wire_bytes(url: str, auth: tuple[str, str], path: str) -> int:
    manifest = requests.get(f"{url}{path}", auth=auth, headers={"Accept": OCI}).json()
    return manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEBIAN_APP)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-sq-"))
    stack = Stack(workdir / "stack", beat=False).start()
    dockerd = Dockerd(Path(tempfile.mkdtemp(prefix="qsbd-", dir="/tmp"))).start()
    try:
        stack.create_user("alice", "bench-password")
        stack.create_org("acme", "alice")
        stack.import_image(f"{args.image}:latest", "acme/web:v1")
        robot, token = stack.create_robot("acme", "deployer", {"web": "read"})
        auth = (robot, token)
        host = stack.host
        dockerd.login(host, robot, token)
        layered, squashed = f"{host}/acme/web:v1", f"{host}/squashed/acme/web:v1"
        squash_url = f"{stack.url}/c1/squash/acme/web/v1"
        curl = f"curl -sSf -u '{robot}:{token}' '{squash_url}' | docker load"
        # Build both squashes once: the runs measure cached pulls.
        requests.get(f"{stack.url}/v2/squashed/acme/web/manifests/v1", auth=auth, timeout=300)
        size = int(requests.get(squash_url, auth=auth, timeout=300).headers["Content-Length"])

        def load() -> None:
            out = subprocess.run(
                curl, shell=True, env=dockerd.env, capture_output=True, text=True, check=True
            ).stdout
            name = out.strip().splitlines()[-1].split("Loaded image: ")[-1]
            assert dockerd.run(name, *COMMAND).stdout.strip() == b"v2"

        def pull(ref: str):
            def go() -> None:
                dockerd.docker("pull", "-q", ref)
                assert dockerd.run(ref, *COMMAND).stdout.strip() == b"v2"

            return go

        methods = {
            "layered docker pull": (
                pull(layered),
                wire_bytes(stack.url, auth, "/v2/acme/web/manifests/v1"),
            ),
            "squashed docker pull": (
                pull(squashed),
                wire_bytes(stack.url, auth, "/v2/squashed/acme/web/manifests/v1"),
            ),
            "curl /c1/squash, docker load": (load, size),
        }
        times: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.runs):
            for name, (fn, _bytes) in methods.items():  # interleaved: same background load
                empty(dockerd)
                times[name].append(timed(fn))
        base = statistics.median(times["layered docker pull"])
        print(f"## Squashed pulls ({platform.node()}, {os.cpu_count()} cores, {args.runs} runs)\n")
        print("| method | bytes on the wire | best s | median s | median vs layered |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, (_fn, nbytes) in methods.items():
            med = statistics.median(times[name])
            print(
                f"| {name} | {nbytes / 1e6:.1f} MB | {min(times[name]):.2f} | {med:.2f} "
                f"| {med / base:.2f}x |"
            )
        print(json.dumps(times))
    finally:
        dockerd.stop()
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

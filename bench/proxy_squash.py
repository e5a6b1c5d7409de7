#!/usr/bin/env python3
"""A cold squash through a proxy organization vs. copying the image in first, then squashing.

Both run in one process tree on loopback: an anonymous Debian ``docker-registry`` holding
debian-app as the upstream, and quaysquash as ``manage.py serve`` runs it (the test ``Stack``:
uvicorn, Celery worker, Redis). Each repetition starts cold: blob files, layer indexes and
squashed images are deleted from the stack's storage and cache first, and a new repository
name is used, so every byte comes from the upstream again.

- **proxy**: ``curl -fsS -u robot /c1/squash/<proxy org>/library/debian-app/v1 -o /dev/null``;
  the proxy fetches the manifest and blobs from the upstream, then squashes.
- **copy + squash**: ``skopeo copy`` from the upstream into a quaysquash repository (with
  skopeo's blob cache emptied), then the same ``curl`` of its squash.

    .venv/bin/python bench/proxy_squash.py [--reps 5] [--write-docs]

Prints best and median of each and their ratio; with ``--write-docs`` replaces the
``## Proxy squash`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

from benchdocs import image_size, parse_reps_args, publish  # noqa: E402
from registry_push_pull import skopeo  # noqa: E402  (bench/ is on sys.path)

from tests.support.reference_registry import ReferenceRegistry  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP  # noqa: E402

SECTION = "## Proxy squash"
COMMAND = ".venv/bin/python bench/proxy_squash.py --reps {reps} --write-docs"
ADMIN, PASSWORD = "bench", "bench-password-1"


def make_cold(stack: Stack) -> None:
    """Forget every blob byte, layer index and squash the stack holds (rows may stay)."""
    for path in (
        stack.storage_root / "blobs",
        stack.storage_root / "indexes",  # the storage layer's keys (quaysquash/storage/base.py)
        stack.storage_root / "squash",
        stack.scratch_dir / "layers",  # the workers' layer read cache
    ):
        shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["sync"], check=True)


def curl_squash(url: str, creds: str) -> float:
    """Download the squash to /dev/null; returns the seconds until its first byte."""
    result = subprocess.run(
        ["curl", "-fsS", "-u", creds, "-o", "/dev/null", "-w", "%{time_starttransfer}", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.strip())


def proxy_round(stack: Stack, upstream: ReferenceRegistry, rep: int) -> tuple[float, float]:
    org = f"proxy{rep}"
    stack.manage("create_proxy_org", org, "--upstream", upstream.url, "--admin", ADMIN)
    robot, token = stack.create_robot(org, "ci")
    make_cold(stack)
    start = time.perf_counter()
    first = curl_squash(f"{stack.url}/c1/squash/{org}/library/debian-app/v1", f"{robot}:{token}")
    return time.perf_counter() - start, first


def copy_round(
    stack: Stack, upstream: ReferenceRegistry, rep: int, scratch: Path
) -> tuple[float, float]:
    repo = f"benchorg/copied{rep}"
    # A robot, as CI would use: Basic auth with a user's password costs a password hash.
    stack.create_repository(repo)
    robot, token = stack.create_robot("benchorg", f"ci{rep}", {f"copied{rep}": "write"})
    make_cold(stack)
    home = Path(tempfile.mkdtemp(dir=scratch))
    start = time.perf_counter()
    skopeo(
        ["copy", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"--dest-creds={robot}:{token}",
         f"docker://{upstream.host}/library/debian-app:v1", f"docker://{stack.host}/{repo}:v1"],
        home,
    )  # fmt: skip
    copied = time.perf_counter() - start
    first = curl_squash(f"{stack.url}/c1/squash/{repo}/v1", f"{robot}:{token}")
    return time.perf_counter() - start, copied + first


def main() -> None:
    args = parse_reps_args(__doc__)
    size = image_size(DEBIAN_APP)

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-proxy-"))
    results: dict[str, list[float]] = {"proxy": [], "copy": []}
    firsts: dict[str, list[float]] = {"proxy": [], "copy": []}
    upstream = stack = None
    try:
        upstream = ReferenceRegistry(workdir / "upstream").start()
        scratch = workdir / "scratch"
        scratch.mkdir()
        skopeo(
            ["copy", "--dest-tls-verify=false", f"oci:{DEBIAN_APP}:latest",
             f"docker://{upstream.host}/library/debian-app:v1"],
            Path(tempfile.mkdtemp(dir=scratch)),
        )  # fmt: skip
        stack = Stack(workdir / "quaysquash").start()
        stack.create_user(ADMIN, PASSWORD)
        stack.create_org("benchorg", ADMIN)
        for rep in range(args.reps):
            # Alternate who goes first so page-cache warmth and load spikes spread evenly.
            order = ("proxy", "copy") if rep % 2 == 0 else ("copy", "proxy")
            for name in order:
                if name == "proxy":
                    seconds, first = proxy_round(stack, upstream, rep)
                else:
                    seconds, first = copy_round(stack, upstream, rep, scratch)
                results[name].append(seconds)
                firsts[name].append(first)
                print(f"rep {rep} {name:6s} {seconds:6.2f}s (first byte {first:5.2f}s)", flush=True)
    finally:
        if stack is not None:
            stack.stop()
        if upstream is not None:
            upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    best = {k: min(v) for k, v in results.items()}
    med = {k: statistics.median(v) for k, v in results.items()}
    first = {k: statistics.median(v) for k, v in firsts.items()}
    mib = size / 1024 / 1024
    rows = [
        f"| proxy: cold `curl` of the squash through a proxy organization | {best['proxy']:.2f} s "
        f"| {med['proxy']:.2f} s | {first['proxy']:.2f} s | {best['proxy'] / best['copy']:.2f}× "
        f"({med['proxy'] / med['copy']:.2f}×) |",
        f"| `skopeo copy` from the upstream, then `curl` of the squash | {best['copy']:.2f} s "
        f"| {med['copy']:.2f} s | {first['copy']:.2f} s | 1.00× |",
    ]
    table = (
        f"{SECTION}\n\n"
        f"Squashing debian-app ({mib:.0f} MiB: 5 layers and a config) that lives only in an "
        "upstream registry (Debian's `docker-registry`, anonymous, on loopback): once through a "
        "proxy organization, once by copying it in with `skopeo copy` and squashing the copy. "
        f"Best and median of {args.reps} repetitions, each cold (blob files, layer indexes and "
        "squashes deleted from the stack first, new repository names; skopeo's blob cache "
        "emptied). The squash is the uncompressed docker archive, read to `/dev/null` by `curl`. "
        "First byte: from the start until the squash's first byte (for the copy, the copy's time "
        "plus the squash's first byte): the fetch or copy, then the build's planning. "
        "quaysquash runs as `manage.py serve` runs it.\n\n"
        "| path | best | median | first byte (median) | ratio best (median) |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows)
    )
    publish(SECTION, table, COMMAND.format(reps=args.reps), args.write_docs)


if __name__ == "__main__":
    main()

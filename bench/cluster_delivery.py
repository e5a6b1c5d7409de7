"""Cluster delivery benchmark: squashed pulls across hosts against the same pulls on one host.

    .venv/bin/python bench/cluster_delivery.py [--image DIR] [--runs 5] [--storage s3|shared-dir]
                                               [--s3-server radosgw|moto] [--write-docs]

Starts, in one run, the multi-host topology of ``scripts/cluster`` (two web servers, two
workers, one beat, each with its own var dir; tests/support/cluster.py) and, as the anchor, a
single-host stack (web and worker on one var dir, tests/support/stack.py Stack) on the same
PostgreSQL server and the same kind of storage, imports the image into both and measures:

1. cross-host cold pull, time to first byte: web A answers while a worker elsewhere builds
   (target < 0.5 s);
2. cross-host cold-pull throughput over the same-host cold pull's (target >= 0.7);
3. (S3 only) a cached pull through the presigned redirect to the bucket over Debian's nginx
   serving the same file from disk (target >= 0.9), and over the bucket's own GET of the
   presigned URL (what the redirect adds).

The S3 server is Ceph's radosgw (tests/support/ceph_rgw.py, Debian's ``radosgw``) unless
``--s3-server moto`` picks the suite's moto server.

Each measure alternates run for run with its anchor (the machine is shared); best and median
of ``--runs``. Prints a Markdown section; ``--write-docs`` puts it into docs/benchmarks.md
(replacing an earlier "Cluster delivery" section).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO), str(BENCH)]

from benchdocs import write_section  # noqa: E402  (bench/ is on sys.path)
from squash_delivery import best, curl  # noqa: E402

from tests.support.ceph_rgw import CephRgw  # noqa: E402
from tests.support.cluster import STORAGES, Cluster  # noqa: E402
from tests.support.nginx_server import NginxServer  # noqa: E402
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.s3_server import S3Server  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP  # noqa: E402

SECTION = "## Cluster delivery"
STATE = "/api/v1/repository/acme/web/tag/v1/squash"
SQUASH = "/c1/squash/acme/web/v1"


def prepare(site, image: Path) -> str:
    """alice, acme, the image as acme/web:v1, its layers indexed; returns robot:token."""
    site.create_user("alice", "bench-password")
    site.create_org("acme", "alice")
    site.import_image(f"{image}:latest", "acme/web:v1")
    robot, token = site.create_robot("acme", "deployer", {"web": "read"})
    # Index the layers once (a rootfs build), as a pushed image would be by then.
    if isinstance(site, Cluster):
        site.manage("prime", "acme/web:v1", "--format", "rootfs")
        built(site, "rootfs")
    else:
        site.manage("prime", "acme/web:v1", "--format", "rootfs", "--wait")
    return f"{robot}:{token}"


def built(cluster: Cluster, fmt: str = "docker", timeout: float = 300) -> bool:
    """Until the fleet's build row of ``fmt`` is ready (True) or failed, from the database
    itself: what any host's API says of it is part of what is measured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = cluster.sql(
            "SELECT state FROM squash_squashedimage WHERE format = %s ORDER BY id DESC LIMIT 1",
            (fmt,),
        )
        if rows and rows[0][0] in ("ready", "failed"):
            return rows[0][0] == "ready"
        time.sleep(0.05)
    return False


def wait_ready(base_url: str, auth: str, timeout: float = 120) -> bool:
    import requests

    user, secret = auth.split(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = requests.get(base_url + STATE, auth=(user, secret), timeout=10).json()["state"]
        if state == "ready":
            return True
        if state == "failed":
            return False
        time.sleep(0.05)
    return False


def redirect_runs(
    cluster: Cluster, auth: str, runs: int, workdir: Path
) -> tuple[list, list, list, str]:
    """Cached pulls on web B through the presigned redirect, alternating with nginx serving
    the same bytes from a local file."""
    web_b = cluster.webs[1]
    local = workdir / "nginx-root" / "squash.tar"
    local.parent.mkdir(parents=True)
    import requests

    user, secret = auth.split(":", 1)
    with requests.get(web_b.url + SQUASH, auth=(user, secret), stream=True, timeout=600) as r:
        r.raise_for_status()
        with open(local, "wb") as fh:
            shutil.copyfileobj(r.raw, fh, 1 << 20)
    nginx = NginxServer(
        workdir / "nginx",
        f"location /file/ {{ alias {local.parent}/; sendfile on; }}",
    ).start()
    # The presigned URL itself, fetched straight from the bucket: what the redirect costs on
    # top of the bucket's own speed, apart from how fast the S3 server serves.
    location = requests.get(
        web_b.url + SQUASH, auth=(user, secret), allow_redirects=False, timeout=60
    ).headers.get("Location", "")
    try:
        redirected, plain, direct, bounces = [], [], [], []
        for _ in range(runs):
            redirected.append(curl(web_b.url + SQUASH, auth, "-L"))
            plain.append(curl(f"{nginx.url}/file/{local.name}"))
            if location:
                direct.append(curl(location))
            bounces.append(curl(web_b.url + SQUASH, auth))  # without -L: the 307 alone
    finally:
        nginx.stop()
    return redirected, plain, direct, bounces, f"HTTP {bounces[0][0]}"


def ratio(anchor: list, measured: list) -> tuple[float, float]:
    (a_best, a_med), (m_best, m_med) = best(c[2] for c in anchor), best(c[2] for c in measured)
    return a_best / m_best, a_med / m_med


def timing_row(label: str, runs: list, size: int, digits: int = 3) -> str:
    """A table row: best time (median) of ``runs`` and the best throughput."""
    seconds, median = best(c[2] for c in runs)
    return (
        f"| {label} | {seconds:.{digits}f} s ({median:.{digits}f}), "
        f"{size / seconds / 1e6:.0f} MB/s | |"
    )


def ratio_row(label: str, anchor: list, measured: list, target: str = "") -> str:
    r_best, r_med = ratio(anchor, measured)
    return f"| {label} | {r_best:.2f} ({r_med:.2f}) | {target} |"


def s3_flag(args) -> str:
    return f" --s3-server {args.s3_server}" if args.storage == "s3" else ""


def report(args, size: int, same: list, cross: list, cached) -> list[str]:
    mb = 1e6
    failed = [c for c in cross if c[0] != 200 or c[3] != size]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/cluster_delivery.py --runs {args.runs} --storage "
        f"{args.storage}{s3_flag(args)}{' --one-disk' if args.one_disk else ''}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Image "
        f"`{args.image.name}` (squashed docker archive {size / mb:.1f} MB); the cluster of "
        "`scripts/cluster` (2 uvicorn, 2 Celery workers with concurrency 1, 1 beat, each with "
        "its own var dir) against a single-host stack (uvicorn + 1 worker on one var dir), both "
        f"on one private PostgreSQL and {args.storage} storage{f' ({args.s3_server})' if args.storage == 's3' else ''}; best of {args.runs} runs, median "
        f"in brackets, alternating run for run; {os.cpu_count()} cores (1-minute load average "
        f"at the end: {os.getloadavg()[0]:.1f}), {platform.python_implementation()} "
        f"{platform.python_version()}, loopback, curl as the client.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
    ]
    if failed:
        lines.append(
            f"| cross-host cold pull | FAILED: {len(failed)} of {len(cross)} runs answered "
            f"{sorted({c[0] for c in failed})} or short bodies | |"
        )
    else:
        ttfb, ttfb_med = best(c[1] for c in cross)
        lines += [
            f"| cross-host cold pull, time to first byte | {ttfb:.3f} s ({ttfb_med:.3f}) | < 0.5 s |",
            timing_row("cross-host cold pull", cross, size, 2),
            timing_row("same-host cold pull", same, size, 2),
            ratio_row("cross-host vs same-host (throughput ratio)", same, cross, ">= 0.7"),
        ]
    if isinstance(cached, str):
        lines.append(f"| cached pull, presigned redirect vs nginx | {cached} | >= 0.9 |")
    elif cached is not None:
        redirected, plain, direct, bounces, first = cached
        ok = all(c[0] == 200 and c[3] == size for c in redirected)
        if ok and first.startswith("HTTP 30"):
            lines += [
                timing_row(
                    f"cached pull, presigned redirect to {args.s3_server} ({first})",
                    redirected,
                    size,
                ),
                timing_row("nginx, same file (sendfile)", plain, size),
                ratio_row("redirect vs nginx (throughput ratio)", plain, redirected, ">= 0.9"),
                "| the 307 answer alone (no body) | {:.1f} ms ({:.1f}) | |".format(
                    *(1000 * t for t in best(c[2] for c in bounces))
                ),
            ]
            if direct and all(c[0] == 200 and c[3] == size for c in direct):
                lines += [
                    timing_row(
                        f"{args.s3_server}'s own GET of the presigned URL (no redirect)",
                        direct,
                        size,
                    ),
                    ratio_row(
                        "redirect vs the bucket's own GET (our overhead)", direct, redirected
                    ),
                ]
        else:
            lines.append(
                f"| cached pull, presigned redirect | FAILED: first answer {first}, "
                f"{sum(not (c[0] == 200 and c[3] == size) for c in redirected)} bad runs | |"
            )
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEBIAN_APP)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--storage", choices=STORAGES, default="s3")
    parser.add_argument("--s3-server", choices=("radosgw", "moto"), default="radosgw")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument(
        "--one-disk",
        action="store_true",
        help="check the benchmark itself: every cluster process on one var dir (not a figure)",
    )
    args = parser.parse_args()
    if args.one_disk and args.write_docs:
        parser.error("--one-disk figures are no cluster figures: not for docs/benchmarks.md")

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-cluster-"))
    postgres = PostgresServer().start()
    s3 = None
    if args.storage == "s3":
        server = CephRgw if args.s3_server == "radosgw" else S3Server
        s3 = server(workdir / "s3").start()
    stack = cluster = None
    cached: tuple | str | None = None
    try:
        extra = s3.env(s3.create_bucket()) if s3 is not None else {}
        stack = Stack(
            workdir / "stack", outer_database_url=postgres.url(), extra_env=extra, beat=False
        ).start()
        cluster = Cluster(
            workdir / "cluster",
            storage=args.storage,
            postgres=postgres,
            s3=s3,
            access_log=False,
            one_disk=args.one_disk,
        ).start()
        stack_auth, cluster_auth = prepare(stack, args.image), prepare(cluster, args.image)
        pairs = [cold_runs_pair(stack, cluster, stack_auth, cluster_auth) for _ in range(args.runs)]
        same, cross = [p[0] for p in pairs], [p[1] for p in pairs]
        size = same[0][3]
        if s3 is not None:
            if all(c[0] == 200 and c[3] == size for c in cross):
                cached = redirect_runs(cluster, cluster_auth, args.runs, workdir)
            else:
                cached = "not measured: the cross-host cold pulls failed"
    finally:
        for running in (cluster, stack, s3, postgres):
            if running is not None:
                running.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    lines = report(args, size, same, cross, cached)
    print("\n".join(lines))
    if args.write_docs:
        write_section(SECTION, "\n".join(lines).rstrip() + "\n")


# Eviction spares squashes read within the reader's lease; the bench evicts what it just read.
NO_LEASE = {"QS_SQUASH_EVICT_GRACE_SECONDS": "0"}


def cold_runs_pair(stack: Stack, cluster: Cluster, stack_auth: str, cluster_auth: str):
    """One same-host cold pull, then one cross-host cold pull (web A; no worker there)."""
    stack.manage("gc", "--max-bytes", "0", env=NO_LEASE)  # drops squashes, keeps layer indexes
    same = curl(stack.url + SQUASH, stack_auth)
    wait_ready(stack.url, stack_auth)  # the worker still hashes and fsyncs after the last byte
    cluster.manage("gc", "--max-bytes", "0", node="web-a", env=NO_LEASE)
    cross = curl(cluster.webs[0].url + SQUASH, cluster_auth)
    built(cluster)
    return same, cross


if __name__ == "__main__":
    main()

"""Squash delivery benchmark: one run, one image, four figures.

    .venv/bin/python bench/squash_delivery.py [--image DIR] [--runs 5] [--concurrency 100]
        [--quiet-wait 120] [--write-docs]

Starts a private stack (uvicorn, Celery worker, Redis; the same command lines as
``manage.py serve``), imports the image, and measures:

1. time to first byte of a cold pull once the layers are indexed (target < 0.3 s);
2. cold-pull throughput against raw ISA-L decompression of the same layers (target >= 0.85):
   the ratio is the time ISA-L needs to inflate every layer over the time the cold pull takes,
   i.e. how close a cold pull gets to the cost of merely decompressing its input;
3. cached-pull throughput against Debian's nginx serving the same file (target >= 0.9);
4. N concurrent cached downloads (target: 0 errors).

Prints a Markdown section for docs/benchmarks.md; ``--write-docs`` replaces the ``## Squash
delivery`` section there. The machine may be shared: the run first waits (up to
``--quiet-wait`` seconds) for the 1-minute load average to fall below 1.5, and the section
records the load average at the start and at the end, so a figure can be told from its noise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SECTION = "## Squash delivery"
QUIET_LOAD = 1.5

from benchdocs import write_section  # noqa: E402  (bench/ is on sys.path)

from quaysquash.core import processes  # noqa: E402
from tests.support.nginx_server import NginxServer  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP, free_port, require  # noqa: E402

# The last field tells a pull that followed a build from one served from the cache.
CURL_FORMAT = (
    "%{http_code} %{time_starttransfer} %{time_total} %{size_download} [%header{x-squash-source}]"
)


def curl(url: str, auth: str | None = None, *extra: str) -> tuple[int, float, float, int, str]:
    args = [require("curl"), "-sS", "-o", "/dev/null", "-w", CURL_FORMAT, *extra]
    if auth:
        args += ["-u", auth]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    code, ttfb, total, size, source = out.split()
    return int(code), float(ttfb), float(total), int(size), source.strip("[]")


def wait_ready(state_url: str, auth: str, timeout: float = 60) -> None:
    user, secret = auth.split(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(state_url, auth=(user, secret), timeout=10).json()["state"] == "ready":
            return
        time.sleep(0.02)
    raise RuntimeError("the squash did not become ready")


def isal_decompress_seconds(blobs: list[Path]) -> tuple[float, int]:
    from isal import isal_zlib

    started = time.perf_counter()
    produced = 0
    for path in blobs:
        inflater = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                produced += len(inflater.decompress(chunk))
        produced += len(inflater.flush())
    return time.perf_counter() - started, produced


def layer_blobs(image: Path) -> list[Path]:
    index = json.loads((image / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((image / "blobs" / "sha256" / digest).read_text())
    return [
        image / "blobs" / "sha256" / layer["digest"].split(":")[1] for layer in manifest["layers"]
    ]


def start_nginx(
    root: Path, workdir: Path, accel_upstream: str, accel_sendfile: bool
) -> NginxServer:
    """nginx serving ``root`` on /sendfile/ and /read/, and, on /c1/, proxying to a quaysquash
    web process that answers cached pulls with X-Accel-Redirect into /_squash/."""
    return NginxServer(
        workdir / f"nginx-{'sendfile' if accel_sendfile else 'read'}",
        f"""
        location /sendfile/ {{ alias {root}/; sendfile on; }}
        location /read/ {{ alias {root}/; sendfile off; output_buffers 2 1m; }}
        location /c1/ {{
            proxy_pass http://{accel_upstream};
            proxy_set_header Host $http_host;
            proxy_buffering off;
        }}
        location /_squash/ {{
            internal;
            alias {root.parent}/;
            sendfile {"on" if accel_sendfile else "off"};
            output_buffers 2 1m;
        }}""",
    ).start()


async def one_download(host: str, port: int, path: str, auth: str) -> int:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    token = base64.b64encode(auth.encode()).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    got = 0
    while got < length:
        chunk = await reader.read(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    writer.close()
    if status != 200 or got != length:
        raise RuntimeError(f"status {status}, {got} of {length} bytes")
    return got


async def concurrent_downloads(host: str, port: int, path: str, auth: str, n: int):
    started = time.perf_counter()
    results = await asyncio.gather(
        *(one_download(host, port, path, auth) for _ in range(n)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    sent = sum(r for r in results if isinstance(r, int))
    return elapsed, sent, errors


def wait_for_quiet(limit: float) -> float:
    """Give other work on a shared machine a chance to finish; returns the load average then."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def best(values) -> tuple[float, float]:
    """Best and median of repeated timings: the machine may be shared, and the best run is the
    one least disturbed by others; the median says how noisy it was."""
    values = list(values)
    return min(values), statistics.median(values)


NOTES = [
    "How a cold pull is followed (local driver): the engine writes each segment's own file in "
    "the storage's staging directory; a cut (8 MiB, or what waits every 0.1 s) renames it into "
    "`squash/partial/<id>.<attempt>/<n>`, publishes the segment ends in Redis and announces "
    "the change on a pub/sub channel; the request reads committed segments from memory maps "
    "and, when caught up, is woken by that announcement (polling only as a fallback). At the "
    "end the worker hashes the segments and concatenates them into the finished object "
    "(`copy_file_range`) before the row is ready.",
    "",
    "Before (segments copied out of one scratch file with a storage `write`, which also hashed "
    "them; followers polled Redis every 20 ms): 0.63 (0.60) of ISA-L at 10:45 UTC, 0.56 (0.44) "
    "at 11:18 UTC with load 1.8. The copy and its hash cost 0.4–0.5 s of CPU per 225 MB build "
    "on the 2 cores the engine, uvicorn and curl share, and doubled the dirty pages written.",
    "",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEBIAN_APP)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    load_start = wait_for_quiet(args.quiet_wait)

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-"))
    stack = Stack(workdir / "stack", beat=False).start()
    nginx = None
    accel_web = None
    try:
        stack.create_user("alice", "bench-password")
        stack.create_org("acme", "alice")
        stack.import_image(f"{args.image}:latest", "acme/web:v1")
        robot, token = stack.create_robot("acme", "deployer", {"web": "read"})
        auth = f"{robot}:{token}"
        url = f"{stack.url}/c1/squash/acme/web/v1"

        # Index the layers once (a rootfs build), as a pushed image would be by then.
        stack.manage("prime", "acme/web:v1", "--format", "rootfs", "--wait")

        # Each measure alternates with its anchor, run for run, so that both see the same
        # background load (the machine is shared); best and median over the runs.
        cold, isal_runs = [], []
        for _ in range(args.runs):
            # Drops squashes, keeps layer indexes; no reader's lease: the bench just read them.
            stack.manage("gc", "--max-bytes", "0", env={"QS_SQUASH_EVICT_GRACE_SECONDS": "0"})
            cold.append(curl(url, auth))
            # The worker still hashes and fsyncs after the last byte: let it finish first.
            wait_ready(f"{stack.url}/api/v1/repository/acme/web/tag/v1/squash", auth)
            isal_runs.append(isal_decompress_seconds(layer_blobs(args.image)))
        # Every cold run really followed a build (none was served a finished file).
        assert all(c[0] == 200 and c[4] == "build" for c in cold), cold
        size = cold[0][3]
        ttfb, ttfb_med = best(c[1] for c in cold)
        cold_s, cold_med = best(c[2] for c in cold)
        isal_s, isal_med = best(r[0] for r in isal_runs)
        inflated = isal_runs[0][1]
        # Each cold pull against the ISA-L run right after it: one pair sees one background load.
        paired, paired_med = best(-r[0] / c[2] for c, r in zip(cold, isal_runs, strict=True))

        # A second web process on the same database and cache, configured for nginx.
        accel_port = free_port()
        accel_web = processes.Child(
            "web-accel",
            processes.web_command(port=accel_port),
            env={**stack.env, "QS_SQUASH_X_ACCEL_PREFIX": "/_squash/"},
            cwd=REPO,
            log=workdir / "web-accel.log",
        ).start()
        processes.wait_until(
            lambda: processes.http_ok(f"http://127.0.0.1:{accel_port}{processes.HEALTH_PATH}"),
            timeout=60,
            alive=[accel_web],
            what="the X-Accel web process",
        )
        blobs = stack.cache_dir / "blobs"
        name = next(p.name for p in blobs.iterdir() if p.suffix == ".tar")
        # nginx with and without sendfile (on loopback plain reads can win): the faster one is
        # the anchor, and the X-Accel location is configured the same way.
        nginx = start_nginx(blobs, workdir, f"127.0.0.1:{accel_port}", True)
        fastest = {}
        for mode in ("sendfile", "read"):
            runs = [curl(f"{nginx.url}/{mode}/{name}") for _ in range(5)]
            assert all(c[0] == 200 and c[3] == size for c in runs), runs
            fastest[mode] = min(c[2] for c in runs)
        nginx_mode = min(fastest, key=fastest.get)
        if nginx_mode == "read":
            nginx.stop()
            nginx = start_nginx(blobs, workdir, f"127.0.0.1:{accel_port}", False)
        nginx_url = f"{nginx.url}/{nginx_mode}/{name}"
        accel_url = f"{nginx.url}/c1/squash/acme/web/v1"
        cached, plain, accel = [], [], []
        for _ in range(args.runs):
            cached.append(curl(url, auth))
            plain.append(curl(nginx_url))
            accel.append(curl(accel_url, auth))
        assert all(c[0] == 200 and c[3] == size and c[4] == "" for c in cached), cached
        assert all(c[0] == 200 and c[3] == size for c in plain + accel), (plain, accel)
        cached_s, cached_med = best(c[2] for c in cached)
        nginx_s, nginx_med = best(c[2] for c in plain)
        accel_s, accel_med = best(c[2] for c in accel)

        elapsed, sent, errors = asyncio.run(
            concurrent_downloads(
                "127.0.0.1", stack.port, "/c1/squash/acme/web/v1", auth, args.concurrency
            )
        )
    finally:
        if accel_web is not None:
            accel_web.stop()
        if nginx is not None:
            nginx.stop()
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    load_end = os.getloadavg()[0]
    mb = 1e6
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/squash_delivery.py --runs {args.runs} "
        f"--concurrency {args.concurrency} --write-docs` — "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 1-minute load average "
        f"{load_start:.1f} at the start, {load_end:.1f} at the end "
        f"({'quiet' if max(load_start, load_end) < QUIET_LOAD else 'shared machine: other work ran'})."
        f" Image `{args.image.name}`, squashed docker archive "
        f"{size / mb:.1f} MB; best of {args.runs} runs, median in brackets, each measure "
        "alternating run for run with its anchor; "
        f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, uvicorn 1 process, 1 Celery worker, SQLite, local "
        "storage driver, loopback, curl as the client.",
        "",
        "| measure | result | target |",
        "| --- | --- | --- |",
        f"| time to first byte, cold pull, layers indexed | {ttfb:.3f} s ({ttfb_med:.3f}) "
        "| < 0.3 s |",
        f"| cold pull | {cold_s:.2f} s ({cold_med:.2f}), {size / cold_s / mb:.0f} MB/s | |",
        f"| ISA-L inflate of all layers | {isal_s:.2f} s ({isal_med:.2f}), "
        f"{inflated / isal_s / mb:.0f} MB/s of {inflated / mb:.0f} MB | |",
        f"| cold pull vs ISA-L (time ratio ISA-L / cold pull) | {isal_s / cold_s:.2f} "
        f"({isal_med / cold_med:.2f}) | >= 0.85 |",
        f"| the same, run by run (each cold pull with the ISA-L run after it) | {-paired:.2f} "
        f"({-paired_med:.2f}) | >= 0.85 |",
        f"| cached pull (uvicorn) | {cached_s:.3f} s ({cached_med:.3f}), "
        f"{size / cached_s / mb:.0f} MB/s | |",
        f"| nginx, same file ({nginx_mode}) | {nginx_s:.3f} s ({nginx_med:.3f}), "
        f"{size / nginx_s / mb:.0f} MB/s | |",
        f"| cached vs nginx (throughput ratio) | {nginx_s / cached_s:.2f} "
        f"({nginx_med / cached_med:.2f}) | >= 0.9 |",
        f"| cached pull through nginx, X-Accel-Redirect | {accel_s:.3f} s ({accel_med:.3f}), "
        f"{size / accel_s / mb:.0f} MB/s | |",
        f"| X-Accel-Redirect vs nginx (throughput ratio) | {nginx_s / accel_s:.2f} "
        f"({nginx_med / accel_med:.2f}) | >= 0.9 |",
        f"| {args.concurrency} concurrent cached downloads | {len(errors)} errors, "
        f"{elapsed:.1f} s, {sent / elapsed / mb:.0f} MB/s total | 0 errors |",
        "",
    ]
    if errors:
        lines.append(f"First error: `{errors[0]!r}`")
        lines.append("")
    lines += NOTES
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""From an empty Docker daemon to ``docker run`` printing: layered ``docker pull`` vs squashed
``docker pull`` (``/v2/squashed/…``) vs ``curl /c1/squash/… | docker load``, on loopback and
through bandwidth-limited links.

    .venv/bin/python bench/squashed_pull.py [--links loopback,1gbit,100mbit] [--runs 5]
        [--json FILE] [--write-docs]   # or: --from-json FILE [--write-docs]

Needs root. Creates a network namespace joined to the host by a veth pair on a private /30
(``bench/netlink.py``), starts a private stack (uvicorn bound to the host end, Celery worker,
Redis) and two private dockerds: one in the host's namespace, which reaches the registry over
loopback (the host end is a local address), and one inside the namespace, whose pulls cross the
veth, shaped per link with ``tc tbf`` in both directions (``veth``: unshaped). Imports the image,
builds both squashes once (the figures are of cached squashes: what every pull after the first
gets), then per link, run and method (interleaved run by run: the same background load):
removes every image from the daemon, pulls, and runs ``python3 /opt/app/main2.py`` with
``--pull never``. ``curl | docker load`` runs inside the namespace for the veth links.

Bytes: "payload" is what the manifests name (layers and config) or the squash's Content-Length;
"on the veth" is the host end's rx+tx counters across the run (Ethernet frames: TCP/IP and HTTP
overhead, token and manifest requests included). The 1-minute load average is recorded after
each run: the machine is shared. Targets: squashed pull <= 0.8x layered on loopback, <= 0.7x at
100 Mbit/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")

from bench.netlink import RATES, Link  # noqa: E402
from tests.support.dockerd import Dockerd  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP  # noqa: E402

COMMAND = ["python3", "/opt/app/main2.py"]
OCI = "application/vnd.oci.image.manifest.v1+json"
DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SECTION = "## Squashed pulls"
METHODS = ("layered docker pull", "squashed docker pull", "curl /c1/squash, docker load")
LABELS = {
    "layered docker pull": "layered `docker pull`",
    "squashed docker pull": "squashed `docker pull` (`/v2/squashed/…`, gzip)",
    "curl /c1/squash, docker load": "`curl /c1/squash/… \\| docker load` (uncompressed)",
}
TARGETS = {"loopback": 0.8, "100mbit": 0.7}


def empty(dockerd: Dockerd) -> None:
    ids = dockerd.docker("images", "-aq").stdout.decode().split()
    if ids:
        dockerd.docker("rmi", "-f", *sorted(set(ids)))


def payload(url: str, auth: tuple[str, str], path: str) -> int:
    manifest = requests.get(f"{url}{path}", auth=auth, headers={"Accept": OCI}).json()
    return manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])


def methods_for(dockerd: Dockerd, enter: list[str], host: str, curl: str) -> dict[str, object]:
    """The three ways from an empty ``dockerd`` to the app printing; ``enter`` runs curl in
    the daemon's network namespace (the pulls themselves are the daemon's)."""

    def load() -> None:
        out = subprocess.run(
            [*enter, "sh", "-c", curl], env=dockerd.env, capture_output=True, text=True, check=True
        ).stdout
        name = out.strip().splitlines()[-1].split("Loaded image: ")[-1]
        assert dockerd.run(name, *COMMAND).stdout.strip() == b"v2"

    def pull(ref: str):
        def go() -> None:
            dockerd.docker("pull", "-q", ref)
            assert dockerd.run(ref, *COMMAND).stdout.strip() == b"v2"

        return go

    return {
        METHODS[0]: pull(f"{host}/acme/web:v1"),
        METHODS[1]: pull(f"{host}/squashed/acme/web:v1"),
        METHODS[2]: load,
    }


def measure(link: Link, name: str, dockerd: Dockerd, methods: dict, runs: int) -> dict:
    results = {m: {"seconds": [], "wire": [], "load": []} for m in METHODS}
    link.shape(RATES[name])
    for run in range(runs):
        for method in METHODS:  # interleaved: the same background load
            empty(dockerd)
            before = link.counters()
            t0 = time.perf_counter()
            methods[method]()
            seconds = time.perf_counter() - t0
            wire = link.counters() - before
            row = results[method]
            row["seconds"].append(round(seconds, 3))
            row["wire"].append(wire if name != "loopback" else None)
            row["load"].append(round(os.getloadavg()[0], 2))
            print(f"{name} run {run + 1} {method}: {seconds:.2f} s, {wire / 1e6:.1f} MB veth, "
                  f"load {row['load'][-1]}", flush=True)  # fmt: skip
    return results


def section(args, results: dict, sizes: dict, started: str) -> str:
    links = ", ".join(results)
    loads = [x for per in results.values() for r in per.values() for x in r["load"]]
    lines = [
        SECTION,
        "",
        f"Command (from the repository root, as root): `.venv/bin/python bench/squashed_pull.py "
        f"--links {','.join(results)} --runs {args.runs} --write-docs` — {started}. debian-app; "
        f"private dockerd ({docker_version()}) and stack (uvicorn, 1 Celery worker, Redis, "
        "SQLite); each run starts from an empty daemon and ends when `docker run --pull never "
        "… python3 /opt/app/main2.py` has printed; methods interleaved run by run; squashes "
        f"cached. Links: {links}. `loopback`: the host's daemon to the registry on a local "
        "address. The others: a daemon in a network namespace, joined to the registry's host "
        "by a veth pair (MTU 1500) shaped by `tc tbf` on both ends (bucket 4 ms of the rate, "
        "at least 64 KiB; queue 20 ms); `veth` unshaped. No added delay: this kernel has no "
        "`netem`, so the RTT is the veth's (tens of µs), a same-rack LAN at best. Machine: "
        f"{os.cpu_count()} cores ({platform.node()}, {platform.release()}) shared with other "
        f"engineers' test runs: 1-minute load average {min(loads):.1f}–{max(loads):.1f} over "
        f"the runs (median {statistics.median(loads):.1f}). Best and median of {args.runs} "
        "runs.",
        "",
        "Payload: the blobs the manifests name (layers and config) or the squash's "
        "Content-Length. On the veth: the host end's rx+tx bytes across the run (Ethernet "
        "frames, so TCP/IP and HTTP overhead and the token and manifest requests count), "
        "median. Where the time goes (Go's gzip in a dockerd without `unpigz`, one layer "
        "downloaded before it is unpacked): docs/squashed-pulls.md, Measured.",
        "",
    ]
    for name, per in results.items():
        base = statistics.median(per[METHODS[0]]["seconds"])
        best_base = min(per[METHODS[0]]["seconds"])
        target = TARGETS.get(name)
        lines += [
            f"### {name}",
            "",
            "| method | payload | on the veth | best s | median s | median (best) vs layered |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for method in METHODS:
            row = per[method]
            med, best = statistics.median(row["seconds"]), min(row["seconds"])
            wires = [w for w in row["wire"] if w is not None]
            wire = f"{statistics.median(wires) / 1e6:.1f} MB" if wires else "—"
            ratio = f"{med / base:.2f}x ({best / best_base:.2f}x)"
            if method == METHODS[1] and target:
                ratio = f"**{ratio}** (target ≤ {target}x)"
            lines.append(
                f"| {LABELS[method]} | {sizes[method] / 1e6:.1f} MB | {wire} | {best:.2f} "
                f"| {med:.2f} | {ratio} |"
            )
        per_run = "; ".join(
            f"{m.split()[0]} " + " ".join(f"{s:.1f}" for s in per[m]["seconds"]) for m in METHODS
        )
        lines += ["", f"Runs (s): {per_run}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def docker_version() -> str:
    out = subprocess.run(["dockerd", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"version ([\w.]+)", out)
    return f"Debian's dockerd {found.group(1)}" if found else "dockerd"


def write_docs(text: str, summary: str) -> None:
    doc = DOCS.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc, count=1).rstrip() + "\n"
    else:
        doc = doc.rstrip() + "\n\n" + text
    doc = re.sub(r"^\| squashed pulls \|.*$", lambda _: summary, doc, count=1, flags=re.M)
    DOCS.write_text(doc)


def summary_row(results: dict) -> str:
    figures, met = [], []
    for name, target in TARGETS.items():
        if name not in results:
            continue
        per = results[name]
        layered, squashed = per[METHODS[0]]["seconds"], per[METHODS[1]]["seconds"]
        med = statistics.median(squashed) / statistics.median(layered)
        best = min(squashed) / min(layered)
        figures.append(f"{name}: {med:.2f}× median, {best:.2f}× best")
        met.append(f"{name} {'yes' if med <= target else 'no'}")
    return (
        "| squashed pulls | squashed `docker pull` ≤ 0.8× layered on loopback, ≤ 0.7× at 100 "
        "Mbit/s (tc tbf on a veth), empty daemon to `docker run` | "
        f"{'; '.join(figures)} (shared machine) | {', '.join(met)} |"
    )


def report(args, results: dict, sizes: dict, started: str) -> None:
    text = section(args, results, sizes, started)
    print(text)
    print(summary_row(results))
    if args.write_docs:
        write_docs(text, summary_row(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=DEBIAN_APP)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--links", default="loopback,100mbit", help=f"of {', '.join(RATES)}")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--from-json", type=Path, help="render a --json file, measure nothing")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        args.runs = saved["runs"]
        report(args, saved["results"], saved["sizes"], saved["started"])
        return
    links = args.links.split(",")
    if unknown := set(links) - set(RATES):
        parser.error(f"unknown links: {', '.join(sorted(unknown))}")
    # SIGTERM unwinds like Ctrl-C: the finally below removes the namespace and the daemons.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-sq-"))
    link = Link()
    daemons: list[Dockerd] = []
    stack = None
    try:
        link.up()
        stack = Stack(workdir / "stack", beat=False, web_host=link.host_ip).start()
        stack.create_user("alice", "bench-password")
        stack.create_org("acme", "alice")
        stack.import_image(f"{args.image}:latest", "acme/web:v1")
        robot, token = stack.create_robot("acme", "deployer", {"web": "read"})
        auth, host = (robot, token), stack.host
        squash_url = f"{stack.url}/c1/squash/acme/web/v1"
        curl = f"curl -sSf -u '{robot}:{token}' '{squash_url}' | docker load"
        # Build both squashes once: the runs measure cached pulls.
        requests.get(f"{stack.url}/v2/squashed/acme/web/manifests/v1", auth=auth, timeout=300)
        sizes = {
            METHODS[0]: payload(stack.url, auth, "/v2/acme/web/manifests/v1"),
            METHODS[1]: payload(stack.url, auth, "/v2/squashed/acme/web/manifests/v1"),
            METHODS[2]: int(
                requests.get(squash_url, auth=auth, timeout=300).headers["Content-Length"]
            ),
        }

        def daemon(netns: str | None) -> Dockerd:
            workroot = Path(tempfile.mkdtemp(prefix="qsbd-", dir="/tmp"))
            dockerd = Dockerd(workroot, netns=netns, insecure=(link.subnet,))
            daemons.append(dockerd)
            dockerd.start()
            dockerd.docker("login", host, "-u", robot, "--password-stdin", input=token.encode())
            return dockerd

        local = daemon(None) if "loopback" in links else None
        inside = daemon(link.netns) if set(links) - {"loopback"} else None
        results = {}
        for name in links:
            dockerd, enter = (local, []) if name == "loopback" else (inside, link.enter)
            methods = methods_for(dockerd, enter, host, curl)
            results[name] = measure(link, name, dockerd, methods, args.runs)
        if args.json:
            saved = {"started": started, "runs": args.runs, "sizes": sizes, "results": results}
            args.json.write_text(json.dumps(saved, indent=1))
        report(args, results, sizes, started)
    finally:
        for dockerd in daemons:
            dockerd.stop()
        if stack is not None:
            stack.stop()
        link.down()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

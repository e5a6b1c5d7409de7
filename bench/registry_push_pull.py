#!/usr/bin/env python3
"""Push and pull debian-app with ``skopeo copy``: quaysquash's registry vs the CNCF reference.

All registries run on loopback in the same run, on the same disk: quaysquash as in production
(uvicorn serving ``quaysquash.asgi``, with its Celery worker and Redis, via the test ``Stack``);
the reference as Debian's ``docker-registry`` with filesystem storage in a temp dir. Each
repetition pushes to a new repository (nothing to deduplicate) and pulls into a new OCI layout,
with a fresh skopeo blob cache so no client-side mount shortcuts apply. quaysquash is pushed to
with robot credentials (the token flow included); the reference runs without auth.

    .venv/bin/python bench/registry_push_pull.py [--reps 5] [--write-docs]

Prints the best and median of each and their ratios; with ``--write-docs`` replaces the ``## Registry push/pull``
section of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shlex
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

from tests.support.reference_registry import ReferenceRegistry  # noqa: E402
from tests.support.stack import Stack  # noqa: E402
from tests.support.tools import DEBIAN_APP  # noqa: E402

SECTION = "## Registry push/pull"
CACHE_DIR = Path("/var/lib/containers/cache")
COMMAND = ".venv/bin/python bench/registry_push_pull.py --reps {reps} --write-docs"


def skopeo(args: list[str], home: Path) -> float:
    """Time one skopeo run with an empty blob-info cache.

    Run as root, skopeo remembers in /var/lib/containers/cache where it saw each blob and
    mounts it from there instead of uploading: every run gets a private empty tmpfs over that
    directory (a mount namespace of its own), so each push really uploads.
    """
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    quoted = " ".join(shlex.quote(a) for a in args)
    start = time.perf_counter()
    subprocess.run(
        [
            "unshare", "--mount", "sh", "-c",
            f"mount -t tmpfs tmpfs {CACHE_DIR} && exec skopeo {quoted}",
        ],
        check=True,
        capture_output=True,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )  # fmt: skip
    return time.perf_counter() - start


def one_round(host: str, creds: list[str], repo: str, scratch: Path) -> tuple[float, float]:
    home = Path(tempfile.mkdtemp(dir=scratch))
    ref = f"docker://{host}/{repo}:v1"
    push = skopeo(
        ["copy", "--dest-tls-verify=false", *[f"--dest-{c}" for c in creds],
         f"oci:{DEBIAN_APP}:latest", ref],
        home,
    )  # fmt: skip
    out = scratch / f"pull-{repo.replace('/', '-')}"
    pull = skopeo(
        ["copy", "--src-tls-verify=false", *[f"--src-{c}" for c in creds], ref, f"oci:{out}:v1"],
        Path(tempfile.mkdtemp(dir=scratch)),
    )
    shutil.rmtree(out, ignore_errors=True)
    return push, pull


def start_quaysquash(workdir: Path, reps: int) -> tuple[Stack, str]:
    """A production stack with repositories app0..N and a robot allowed to push them."""
    stack = Stack(workdir).start()
    stack.create_user("bench", "bench-password-1")
    stack.create_org("benchorg", "bench")
    # CI pushes with a robot; robots write only to repositories that exist.
    for i in range(reps):
        stack.create_repository(f"benchorg/app{i}")
    robot, token = stack.create_robot("benchorg", "ci", {f"app{i}": "write" for i in range(reps)})
    return stack, f"creds={robot}:{token}"


def main() -> None:
    args = parse_reps_args(__doc__)
    size = image_size(DEBIAN_APP)

    workdir = Path(tempfile.mkdtemp(prefix="qsbench-"))
    stacks: dict[str, tuple[Stack, str]] = {}
    reference = None
    # name -> (host, credentials, repository namespace)
    targets: dict[str, tuple[str, list[str], str]] = {}
    try:
        stack, creds = start_quaysquash(workdir / "quaysquash", args.reps)
        stacks["quaysquash"] = (stack, creds)
        targets["quaysquash"] = (stack.host, [creds], "benchorg")
        reference = ReferenceRegistry(workdir / "reference", quiet=True).start()
        targets["reference"] = (reference.host, [], "bench")
        scratch = workdir / "scratch"
        scratch.mkdir()
        results = {name: {"push": [], "pull": []} for name in targets}
        names = list(targets)
        for rep in range(args.reps):
            # Rotate who goes first so page-cache warmth and load spikes spread evenly.
            order = names[rep % len(names) :] + names[: rep % len(names)]
            for name in order:
                host, creds, namespace = targets[name]
                push, pull = one_round(host, creds, f"{namespace}/app{rep}", scratch)
                results[name]["push"].append(push)
                results[name]["pull"].append(pull)
                print(f"rep {rep} {name:20s} push {push:6.2f}s pull {pull:6.2f}s", flush=True)
    finally:
        if reference is not None:
            reference.stop()
        for stack, _ in stacks.values():
            stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    best = {n: {k: min(v) for k, v in r.items()} for n, r in results.items()}
    rows = []
    for name, label in (
        ("quaysquash", "quaysquash (`quaysquash.asgi:application`)"),
        ("reference", "reference `docker-registry`"),
    ):
        cells = []
        for op in ("push", "pull"):
            b, m = best[name][op], med[name][op]
            rb, rm = b / best["reference"][op], m / med["reference"][op]
            cells.append(f"{b:.2f} s ({m:.2f} s) | {rb:.2f}× ({rm:.2f}×)")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    mib = size / 1024 / 1024
    table = (
        f"{SECTION}\n\n"
        f"`skopeo copy` of debian-app ({mib:.0f} MiB: 5 layers and a config) into and out of "
        f"each registry on loopback; best (median) of {args.reps} repetitions, each to a new repository "
        "with skopeo's blob cache emptied (so every blob is really uploaded), pulling into a new "
        "OCI layout. quaysquash runs as `manage.py serve` runs it (uvicorn with httptools and "
        "uvloop, 1 worker; Celery and Redis beside it) and is used with a robot's credentials "
        "through the bearer-token flow. The reference is Debian's "
        "`docker-registry` (distribution 2.8, filesystem storage, no auth). Target: quaysquash "
        "≤ 1.3× the reference.\n\n"
        "| registry | push | ratio | pull | ratio |\n|---|---|---|---|---|\n" + "\n".join(rows)
    )
    publish(SECTION, table, COMMAND.format(reps=args.reps), args.write_docs)


if __name__ == "__main__":
    main()

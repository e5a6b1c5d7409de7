"""``scripts/cluster``: run the multi-host topology (:mod:`tests.support.cluster`) until Ctrl-C.

python -m tests.support.cluster_cli [--storage s3|shared-dir] [--s3-server moto|radosgw]
                                   [--concurrency N] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .ceph_rgw import CephRgw
from .cluster import STORAGES, Cluster
from .s3_server import S3Server


def banner(cluster: Cluster, demo: str) -> str:
    server = "radosgw" if isinstance(cluster.s3, CephRgw) else "moto"
    storage = (
        f"S3 ({server}) at {cluster.s3.url}, bucket {cluster.bucket}"
        if cluster.s3 is not None
        else f"one shared directory {cluster.shared_dir}"
    )
    web_a, web_b = cluster.webs
    lines = [
        "",
        "quaysquash cluster is running (Ctrl-C stops it)",
        f"  balancer (public name):  {cluster.url}/   round-robin over both web servers",
        f"  web A:                   {web_a.url}/",
        f"  web B:                   {web_b.url}/",
        f"  workers:                 {', '.join(w.name for w in cluster.workers)} "
        f"(concurrency {cluster.concurrency} each), one beat",
        f"  storage:                 {storage}",
        f"  PostgreSQL:              127.0.0.1:{cluster.postgres.port}/{cluster.database_name}",
        f"  Redis:                   {cluster.redis.url}",
        f"  logs and host dirs:      {cluster.workdir}/<process>/",
        "",
        "demo data (manage.py seed_demo on web A):",
        *("  " + line for line in demo.strip().splitlines()),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/cluster",
        description="Two web servers, two Celery workers, one beat, each with its own var dir, "
        "sharing PostgreSQL, Redis and the storage, on this machine.",
    )
    parser.add_argument("--storage", choices=STORAGES, default="s3")
    parser.add_argument(
        "--s3-server",
        choices=("moto", "radosgw"),
        default="moto",
        help="the S3 server: moto's (starts in a second) or Ceph's radosgw (checks signatures; "
        "Debian packages radosgw, ceph-mon, ceph-osd; about 15 s to start)",
    )
    parser.add_argument("--concurrency", type=int, default=1, help="Celery pool per worker")
    parser.add_argument("--workdir", type=Path, help="where the hosts' dirs go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir on exit")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qs-cluster-"))
    cluster = Cluster(
        workdir,
        storage=args.storage,
        concurrency=args.concurrency,
        s3_kind=CephRgw if args.s3_server == "radosgw" else S3Server,
    )
    stop = threading.Event()
    started = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()
        if not started.is_set():
            # Still starting: interrupt it (Cluster.start stops what it started).
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        print(f"starting the cluster in {workdir} (storage: {args.storage}) ...", flush=True)
        cluster.start()
        demo = cluster.manage("seed_demo").stdout
        started.set()
        print(banner(cluster, demo), flush=True)
        while not stop.wait(0.5):
            dead = next((n for n in cluster.nodes if not n.alive()), None)
            if dead is not None:
                print(f"{dead.name} exited unexpectedly; see {dead.log}", file=sys.stderr)
                code = 1
                break
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("stopping ...", flush=True)
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The multi-host topology on one machine: every process as if on a host of its own.

Two web servers (uvicorn, the command line ``manage.py serve`` runs), two Celery workers and
exactly one beat, each with its own ``QS_VAR_DIR``, squash cache and scratch directory, sharing
only what a real fleet shares: one PostgreSQL, one Redis, the bucket (an S3-compatible server,
or one shared local directory as over NFS) and the settings that must agree (``SECRET_KEY``,
``QS_TOKEN_ENCRYPTION_KEY``, the public host name). A round-robin balancer in front stands for
the load balancer and owns the public name.

``scripts/cluster`` runs this until Ctrl-C; ``tests/cluster`` and ``bench/cluster_delivery.py``
start the same thing (:class:`Cluster`).
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quaysquash.core import processes
from quaysquash.core.processes import Child

from .balancer import RoundRobinBalancer
from .commands import run_manage
from .postgres import PostgresServer
from .redis_server import RedisServer
from .s3_server import S3Server
from .server_process import HttpAddress, log_tail
from .stack import LEAKY_ENV, Stack
from .tools import REPO_ROOT, free_port

STORAGES = ("s3", "shared-dir")


def beat_command(*, schedule_file: Path | None = None, loglevel: str = "INFO") -> list[str]:
    """Celery beat on its own: a fleet of several workers runs exactly one of these."""
    command = [sys.executable, "-m", "celery", "-A", "quaysquash", "beat", "--loglevel", loglevel]
    if schedule_file is not None:
        command += ["--schedule", str(schedule_file)]
    return command


@dataclass
class Node(HttpAddress):
    """One process of the fleet and the private directories of the "host" it runs on."""

    name: str  # web-a, worker-b, beat
    kind: str  # web, worker, beat
    var_dir: Path
    env: dict[str, str]
    port: int | None = None
    child: Child | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def cache_dir(self) -> Path:
        return self.var_dir / "squash-cache"

    @property
    def log(self) -> Path:
        return self.var_dir.parent / f"{self.name}.log"

    @property
    def celery_name(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def alive(self) -> bool:
        return self.child is not None and self.child.alive()


class Cluster:
    """Webs ``web-a``, ``web-b``; workers ``worker-a``, ``worker-b``; one ``beat``.

    ``postgres``/``s3`` may be servers the caller already runs (the tests share one per
    session); otherwise the cluster starts and stops its own (an ``s3_kind``: moto's server,
    or ``CephRgw``). ``extra_env`` goes to every
    process (e.g. a throttle for kill tests). Each node's ``env`` is what its process runs with;
    ``manage(..., node=)`` runs a management command "on" that node's host. ``one_disk``
    gives every process the same var dir (one host's layout): a check of the tests themselves.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        storage: str = "s3",
        postgres: PostgresServer | None = None,
        s3: S3Server | None = None,
        s3_kind: type[S3Server] = S3Server,
        extra_env: Mapping[str, str] | None = None,
        concurrency: int = 1,
        access_log: bool = True,
        one_disk: bool = False,
    ) -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, not {storage!r}")
        self.workdir = Path(workdir)
        self.storage = storage
        # All processes on one var dir: the single-host layout, to check a test's own logic.
        self.one_disk = one_disk
        self.concurrency = concurrency
        self.access_log = access_log
        self._own_postgres = postgres is None
        self._own_s3 = s3 is None and storage == "s3"
        self.postgres = postgres or PostgresServer()
        self.s3 = s3 or (s3_kind(self.workdir / "s3") if storage == "s3" else None)
        self.redis = RedisServer(self.workdir / "redis")
        self.database_name = f"qs_cluster_{secrets.token_hex(4)}"
        self.bucket = f"qs-cluster-{secrets.token_hex(4)}" if storage == "s3" else ""
        self.shared_dir = self.workdir / "shared-storage"
        self.webs = [self._node(f"web-{x}", "web", port=free_port()) for x in "ab"]
        self.balancer = RoundRobinBalancer([web.host for web in self.webs])
        self.workers = [self._node(f"worker-{x}", "worker") for x in "ab"]
        self.beat = self._node("beat", "beat")
        self.extra_env = dict(extra_env or {})
        self._celery: Any = None

    def _node(self, name: str, kind: str, port: int | None = None) -> Node:
        host = "one-host" if self.one_disk else name
        return Node(name, kind, self.workdir / host / "var", {}, port)

    @property
    def nodes(self) -> list[Node]:
        return [*self.webs, *self.workers, self.beat]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    @property
    def host(self) -> str:
        """The public name (the balancer's), which every process puts in image names."""
        return self.balancer.host

    @property
    def url(self) -> str:
        return self.balancer.url

    # -- settings ---------------------------------------------------------------------------

    def shared_env(self) -> dict[str, str]:
        """What every host must agree on; generated once, handed to every process."""
        env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "quaysquash.settings",
                "PYTHONUNBUFFERED": "1",
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "DATABASE_URL": self.postgres.url(self.database_name),
                "REDIS_URL": self.redis.url,
                # Sessions, bearer tokens and encrypted robot tokens made on one host must
                # validate on every other.
                "SECRET_KEY": self._secret_key,
                "QS_TOKEN_ENCRYPTION_KEY": self._fernet_key,
                # Image names inside squashed archives, token audiences and generated commands
                # name the public address, whichever host made them.
                "QS_SERVER_HOSTNAME": self.host,
                "QS_REGISTRY_SERVICE": self.host,
                "QS_PREFERRED_URL_SCHEME": "http",
            }
        )
        if self.storage == "s3":
            assert self.s3 is not None
            env.update(self.s3.env(self.bucket))
        else:
            env.update({"QS_STORAGE_BACKEND": "local", "QS_STORAGE_ROOT": str(self.shared_dir)})
        env.update(self.extra_env)
        return env

    def _host_env(self, node: Node, shared: dict[str, str]) -> dict[str, str]:
        """The shared settings plus the directories that belong to this host alone."""
        env = dict(shared)
        env.update(
            {
                "QS_VAR_DIR": str(node.var_dir),
                # Per-host scratch: staged bodies, build scratch, the layer read cache.
                "QS_SCRATCH_DIR": str(node.cache_dir),
                "TMPDIR": str(node.var_dir / "tmp"),
            }
        )
        if self.storage == "s3":
            # Local scratch of this host only; the blobs are in the bucket.
            env["QS_STORAGE_ROOT"] = str(node.var_dir / "storage")
        return env

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> Cluster:
        self._secret_key = secrets.token_urlsafe(50)
        self._fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        try:
            if self._own_postgres:
                self.postgres.start()
            self.postgres.create_database(self.database_name)
            if self.s3 is not None:
                if self._own_s3:
                    self.s3.start()
                self.s3.create_bucket(self.bucket)
            self.redis.start()
            shared = self.shared_env()
            for node in self.nodes:
                node.env = self._host_env(node, shared)
                for sub in ("tmp", "static", "squash-cache"):
                    (node.var_dir / sub).mkdir(parents=True, exist_ok=True)
            if self.storage == "shared-dir":
                self.shared_dir.mkdir(parents=True, exist_ok=True)
            self.manage("migrate", "--noinput", timeout=timeout)
            self.balancer.start()
            for node in self.nodes:
                self._start(node)
            for web in self.webs:
                self._wait(web, lambda w=web: processes.http_ok(w.url + processes.HEALTH_PATH))
            for worker in self.workers:
                self.wait_worker(worker, timeout)
            # Beat answers no remote control; its log says when its scheduler runs.
            self._wait(self.beat, lambda: "beat: Starting" in log_tail(self.beat.log), timeout)
        except BaseException as exc:
            logs = self.log_tails()
            self.stop()
            if isinstance(exc, Exception):
                raise RuntimeError(f"cluster did not start: {exc}\n{logs}") from exc
            raise
        return self

    def _command(self, node: Node) -> list[str]:
        if node.kind == "web":
            assert node.port is not None
            return processes.web_command(port=node.port, access_log=self.access_log)
        if node.kind == "worker":
            return processes.worker_command(
                concurrency=self.concurrency,
                beat=False,
                # A fresh name per start: the broker must not mistake it for the dead one.
                node_name=f"{node.name}@%h"
                if node.starts == 1
                else f"{node.name}-{node.starts}@%h",
            )
        return beat_command(schedule_file=node.var_dir / "celerybeat-schedule")

    def _start(self, node: Node) -> None:
        node.starts += 1
        with open(node.log, "a") as log:
            log.write(f"\n===== {node.name} start #{node.starts} =====\n")
        node.child = Child(
            node.name, self._command(node), env=node.env, cwd=REPO_ROOT, log=node.log
        ).start()

    def _wait(self, node: Node, check, timeout: float = 120) -> None:
        assert node.child is not None
        processes.wait_until(
            check, timeout=timeout, interval=0.2, alive=[node.child], what=f"{node.name}"
        )

    def stop(self) -> None:
        # Thrown away: no warm shutdown for workers, which takes seconds.
        for worker in self.workers:
            if worker.alive():
                assert worker.child is not None
                worker.child.signal(signal.SIGKILL, group=True)
        for node in self.nodes:
            if node.child is not None:
                node.child.stop(timeout=15)
        self.balancer.stop()
        if self._celery is not None:
            self._celery.close()
            self._celery = None
        self.redis.stop()
        if self.s3 is not None and self._own_s3:
            self.s3.stop()
        try:
            if self._own_postgres:
                self.postgres.stop()
            else:
                self.postgres.drop_database(self.database_name)
        except Exception as exc:  # a failed drop must not hide the test result
            print(f"warning: could not drop {self.database_name}: {exc}", file=sys.stderr)

    # -- workers ----------------------------------------------------------------------------

    @property
    def celery(self) -> Any:
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("cluster-client", broker=self.redis.url, backend=self.redis.url)
        return self._celery

    def worker_name(self, worker: Node) -> str:
        suffix = "" if worker.starts == 1 else f"-{worker.starts}"
        return f"{worker.name}{suffix}@{socket.gethostname()}"

    def wait_worker(self, worker: Node, timeout: float = 120) -> None:
        """Until this very worker answers a remote-control ping (not just any worker)."""
        name = self.worker_name(worker)

        def answers() -> bool:
            replies = self.celery.control.ping(destination=[name], timeout=1)
            return any(name in reply for reply in replies)

        self._wait(worker, answers, timeout)

    def worker_owning(self, pid: int) -> Node:
        """The worker whose process group holds ``pid`` (a pool process of a build)."""
        group = os.getpgid(pid)
        for worker in self.workers:
            if worker.alive() and worker.child is not None and worker.child.pid == group:
                return worker
        raise LookupError(f"pid {pid} belongs to no running worker")

    def kill_worker(self, worker: Node) -> None:
        """SIGKILL to the worker's whole process group, as when its machine dies."""
        assert worker.child is not None and worker.child.process is not None
        worker.child.signal(signal.SIGKILL, group=True)
        worker.child.process.wait(timeout=60)
        worker.child.stop(timeout=0)

    def start_worker(self, worker: Node, timeout: float = 120) -> None:
        self._start(worker)
        self.wait_worker(worker, timeout)

    # -- commands ---------------------------------------------------------------------------

    def manage(
        self, *args: str, node: str = "web-a", env: Mapping[str, str] | None = None, **options: Any
    ) -> subprocess.CompletedProcess[str]:
        """``manage.py <args>`` on ``node``'s host (``options``: those of ``run_manage``)."""
        host_env = self.node(node).env or self.webs[0].env
        return run_manage(*args, env={**host_env, **(env or {})}, where=node, **options)

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Rows of one query on the fleet's database, straight from this process: milliseconds,
        where ``python()`` starts Django (seconds) — for tests that must act mid-build."""
        import psycopg

        with psycopg.connect(self.postgres.url(self.database_name), autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def python(self, code: str, node: str = "web-a") -> str:
        return self.manage("shell", "--verbosity", "0", "-c", code, node=node).stdout

    # The same one-command fixtures as a single-host stack: they only call manage()/python().
    create_user = Stack.create_user
    create_org = Stack.create_org
    create_robot = Stack.create_robot
    grant = Stack.grant
    create_repository = Stack.create_repository
    squash_rows = Stack.squash_rows
    import_image = Stack.import_image

    def log_tails(self, limit: int = 3000) -> str:
        parts = [f"----- {n.name} ({n.log}) -----\n{log_tail(n.log, limit)}" for n in self.nodes]
        parts.append(f"----- redis -----\n{log_tail(self.redis.log_path, limit)}")
        return "\n".join(parts)

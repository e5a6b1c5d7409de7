"""A complete running quaysquash for integration tests.

The ``Stack`` runs the same command lines as ``manage.py serve`` (built by
:mod:`quaysquash.core.processes`) in subprocesses, with its own var dir, database and Redis, so
nothing it does is visible to the pytest-django test database and vice versa.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from quaysquash.core import processes
from quaysquash.core.processes import Child
from quaysquash.core.tasks import PING_TASK

from .commands import run_manage
from .redis_server import RedisServer
from .running import running
from .server_process import log_tail
from .stack_database import StackDatabase
from .tools import REPO_ROOT, free_port

# Variables of the outer environment that would point the stack at someone else's services.
LEAKY_ENV = (
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "QS_REGISTRY_SERVICE",
    "QS_SQUASH_X_ACCEL_PREFIX",
    "SECRET_KEY",
    "QS_TOKEN_ENCRYPTION_KEY",
    "DJANGO_SUPERUSER_PASSWORD",
    # A stack stores blobs on local disk unless its test asks for a bucket (extra_env).
    "QS_STORAGE_BACKEND",
    "QS_S3_ENDPOINT_URL",
    "QS_S3_BUCKET",
    "QS_S3_PREFIX",
    "QS_S3_ACCESS_KEY_ID",
    "QS_S3_SECRET_ACCESS_KEY",
)


class Stack:
    """A running quaysquash: uvicorn, a Celery worker (with beat) and a private Redis.

    ``url``/``host`` address the web server; ``env`` is the environment every process of the
    stack runs with (use it for your own subprocesses); ``manage()`` runs management commands
    against the stack's database and storage.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        outer_database_url: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        beat: bool = True,
        concurrency: int = 2,
        peer: Stack | None = None,
        web: bool = True,
        worker: bool = True,
        web_host: str = "127.0.0.1",
    ) -> None:
        """``peer``: another host of the same installation. This stack then has its own var
        dir, scratch and processes but uses the peer's database, Redis and (unless
        ``extra_env`` points at a bucket) storage directory. ``web``/``worker``: which
        processes this host runs. ``web_host``: the address uvicorn listens on (a bench binds
        the host end of a veth pair so that a network namespace reaches it)."""
        self.workdir = Path(workdir)
        self.var_dir = self.workdir / "var"
        self.peer = peer
        self.storage_root = peer.storage_root if peer else self.var_dir / "storage"
        # Finished squashes of the local driver (``<storage>/squash/blobs/``); per-host scratch.
        self.cache_dir = self.storage_root / "squash"
        self.scratch_dir = self.var_dir / "scratch"
        self.run_web = web
        self.run_worker = worker
        self.log_dir = self.workdir / "logs"
        self.port = free_port()
        self.web_host = web_host
        self.host = f"{web_host}:{self.port}"
        self.url = f"http://{self.host}"
        self.beat = beat
        self.concurrency = concurrency
        self.database = peer.database if peer else StackDatabase(self.workdir, outer_database_url)
        self.redis = peer.redis if peer else RedisServer(self.workdir / "redis")
        self.web: Child | None = None
        self.worker: Child | None = None
        self._worker_starts = 0
        self._celery: Any = None

        env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "quaysquash.settings",
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": self.database.url,
                "REDIS_URL": self.redis.url,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "QS_VAR_DIR": str(self.var_dir),
                "QS_STORAGE_ROOT": str(self.storage_root),
                "QS_SCRATCH_DIR": str(self.scratch_dir),
                "QS_SERVER_HOSTNAME": self.host,
                "QS_PREFERRED_URL_SCHEME": "http",
            }
        )
        env.update(extra_env or {})
        self.env = env

    # -- logs -------------------------------------------------------------------------------

    @property
    def web_log(self) -> Path:
        return self.log_dir / "web.log"

    @property
    def worker_log(self) -> Path:
        return self.log_dir / "worker.log"

    @property
    def redis_log(self) -> Path:
        return self.redis.log_path

    def log_tails(self, limit: int = 4000) -> str:
        parts = []
        for name, path in (
            ("web", self.web_log),
            ("worker", self.worker_log),
            ("redis", self.redis_log),
        ):
            parts.append(f"----- {name} ({path}) -----\n{log_tail(path, limit)}")
        return "\n".join(parts)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> Stack:
        for path in (self.var_dir, self.storage_root, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        # WhiteNoise warns on every process start when STATIC_ROOT is missing.
        (self.var_dir / "static").mkdir(exist_ok=True)
        if self.peer is None:
            self.database.create()
        else:
            # One installation shares its secrets (real deployments set them in the
            # environment): sessions, bearer tokens and encrypted robot tokens work on any host.
            for name, file in (
                ("SECRET_KEY", "secret_key"),
                ("QS_TOKEN_ENCRYPTION_KEY", "token_key"),
            ):
                self.env.setdefault(name, (self.peer.var_dir / file).read_text().strip())
        try:
            if self.peer is None:
                self.redis.start()
                self.manage("migrate", "--noinput", timeout=timeout)
            if self.run_web:
                self.web = Child(
                    "web",
                    processes.web_command(
                        host=self.web_host, port=self.port, log_level="info", access_log=True
                    ),
                    env=self.env,
                    cwd=REPO_ROOT,
                    log=self.web_log,
                ).start()
            if self.run_worker:
                self.start_worker(wait=False)
            if self.web is not None:
                processes.wait_until(
                    lambda: processes.http_ok(self.url + processes.HEALTH_PATH),
                    timeout=timeout,
                    alive=[self.web],
                    what=f"the web server on {self.url}",
                )
            if self.worker is not None:
                self.wait_worker(timeout)
        except Exception as exc:
            logs = self.log_tails()
            self.stop()
            raise RuntimeError(f"stack did not start: {exc}\n{logs}") from exc
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # The stack is thrown away: no need for Celery's warm shutdown, which takes seconds.
        if self.worker is not None and self.worker.alive():
            self.worker.signal(signal.SIGKILL, group=True)
        for child in (self.web, self.worker):
            if child is not None:
                child.stop(timeout=15)
        if self._celery is not None:
            self._celery.close()
            self._celery = None
        if self.peer is not None:
            return  # the peer owns the database and Redis
        self.redis.stop()
        try:
            self.database.drop()
        except Exception as exc:  # a failed drop must not hide the test result
            print(f"warning: could not drop {self.database.name}: {exc}", file=sys.stderr)

    # -- worker -----------------------------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        return self.worker.pid if self.worker is not None and self.worker.alive() else None

    def start_worker(self, *, wait: bool = True, timeout: float = 60) -> int:
        """Start a worker (after ``kill_worker``); returns its pid once it answers a ping."""
        if self.worker is not None and self.worker.alive():
            raise RuntimeError(f"worker already running (pid {self.worker.pid})")
        self._worker_starts += 1
        with open(self.worker_log, "a") as log:
            log.write(f"\n===== worker start #{self._worker_starts} =====\n")
        self.worker = Child(
            "worker",
            processes.worker_command(
                concurrency=self.concurrency,
                beat=self.beat,
                schedule_file=self.var_dir / "celerybeat-schedule",
                # A fresh node name per start: the broker must not mistake it for the dead one.
                node_name=f"stack{self._worker_starts}@%h",
            ),
            env=self.env,
            cwd=REPO_ROOT,
            log=self.worker_log,
            stop_timeout=30,
        ).start()
        if wait:
            self.wait_worker(timeout)
        assert self.worker.pid is not None
        return self.worker.pid

    def wait_worker(self, timeout: float = 60) -> None:
        assert self.worker is not None
        processes.wait_until(
            lambda: self.ping(timeout=5) == "pong",
            timeout=timeout,
            interval=0.2,
            alive=[self.worker],
            what="the Celery worker to answer a ping",
        )

    def kill_worker(self, sig: int = signal.SIGKILL, timeout: float = 60) -> None:
        """Send ``sig`` to the worker and wait until it has exited.

        SIGKILL goes to the whole process group (pool processes and beat die with the main
        process, as when a machine dies); other signals go to the main process only, so SIGTERM
        is Celery's warm shutdown.
        """
        if self.worker is None or not self.worker.alive():
            return
        assert self.worker.process is not None
        self.worker.signal(sig, group=sig == signal.SIGKILL)
        try:
            self.worker.process.wait(timeout=timeout)
        finally:
            self.worker.stop(timeout=0)

    def restart_worker(self, timeout: float = 60) -> int:
        """Warm shutdown of the worker, then a fresh start; returns the new pid."""
        if self.worker is not None:
            self.worker.stop(timeout=timeout)
        return self.start_worker(timeout=timeout)

    # -- clients ----------------------------------------------------------------------------

    @property
    def celery(self) -> Any:
        """A Celery client on the stack's Redis (send tasks by name with ``send_task``)."""
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("stack-client", broker=self.redis.url, backend=self.redis.url)
        return self._celery

    def ping(self, timeout: float = 30) -> str:
        return self.celery.send_task(PING_TASK, args=["pong"], expires=timeout).get(timeout=timeout)

    def manage(
        self, *args: str, env: Mapping[str, str] | None = None, **options: Any
    ) -> subprocess.CompletedProcess[str]:
        """``manage.py <args>`` in the stack's environment (``options``: those of
        ``run_manage``: check, input, timeout); raises with its output on failure."""
        return run_manage(*args, env={**self.env, **(env or {})}, **options)

    def python(self, code: str) -> str:
        """Run Python code with Django set up (``manage.py shell -c``); returns its stdout."""
        return self.manage("shell", "--verbosity", "0", "-c", code).stdout

    # -- quick fixtures (each one manage.py process) ---------------------------------------

    def create_user(self, username: str, password: str, *, superuser: bool = False) -> None:
        method = "create_superuser" if superuser else "create_user"
        self.python(
            "from django.contrib.auth import get_user_model\n"
            f"get_user_model().objects.{method}({username!r}, "
            f"email={username + '@example.com'!r}, password={password!r})"
        )

    def create_org(self, name: str, admin: str) -> None:
        self.manage("create_org", name, "--admin", admin)

    def create_repository(self, full_name: str, **fields: object) -> None:
        """An empty repository ``org/name`` with model ``fields`` (``is_public``, ``auto_prime``)."""
        org, name = full_name.split("/", 1)
        self.python(
            "from quaysquash.accounts.models import Namespace, Repository\n"
            f"Repository.objects.create(namespace=Namespace.objects.get(name={org!r}), "
            f"name={name!r}, **{fields!r})"
        )

    def create_robot(
        self, org: str, short: str, repos: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    ) -> tuple[str, str]:
        """Create a robot with ``{repo: role}`` grants; returns (full name, token)."""
        pairs = repos.items() if isinstance(repos, Mapping) else repos
        args = [arg for repo, role in pairs for arg in ("--repo", f"{repo}={role}")]
        lines = self.manage("create_robot", org, short, *args).stdout.strip().splitlines()
        return lines[-2].strip(), lines[-1].strip()

    def squash_rows(self, full_name: str, *fields: str) -> list[dict]:
        """``fields`` of the squashed-image rows of repository ``org/name``."""
        org, name = full_name.split("/", 1)
        out = self.python(
            "import json\n"
            "from quaysquash.squash.models import SquashedImage as S\n"
            f"q = S.objects.filter(repository__namespace__name={org!r}, repository__name={name!r})"
            ".order_by('id')\n"
            f"print(json.dumps(list(q.values(*{list(fields)!r})), default=str))"
        )
        return json.loads(out.strip().splitlines()[-1])

    def grant(self, principal: str, repository: str, role: str) -> None:
        self.manage("grant", principal, repository, role)

    def import_image(self, source: str | Path, target: str) -> str:
        return self.manage("import_image", str(source), target).stdout.strip()


@contextmanager
def acme_stack(prefix: str, *, extra_env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """A stack of a test module's own, where user alice (password ``tests.factories.PASSWORD``)
    admins organization acme.

    For tests that stop its Redis, kill its worker or need settings the session stack lacks.
    """
    from tests.factories import PASSWORD  # Django models: only once a test runs

    with running(lambda workdir: Stack(workdir / "stack", extra_env=extra_env), prefix) as stack:
        stack.create_user("alice", PASSWORD)
        stack.create_org("acme", "alice")
        yield stack

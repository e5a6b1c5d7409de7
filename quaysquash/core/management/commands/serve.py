"""``manage.py serve``: the private Redis, a Celery worker (with beat) and uvicorn, together.

All three run as child processes in their own process groups. Ctrl-C or SIGTERM stops them in
order (web first, so no request finds the worker gone; Redis last). A child that dies is
started again (``--max-restarts`` times within ``--restart-window`` seconds, 5 in 60 by
default); one that keeps dying stops everything and the command exits non-zero, so a process
manager sees the failure.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from quaysquash.core import processes
from quaysquash.core.processes import Child

READY_TIMEOUT = 90.0


class Command(BaseCommand):
    help = "Run the web server, a Celery worker with beat and (if needed) the private Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
        parser.add_argument(
            "--concurrency", type=int, default=None, help="Celery pool size (default: CPUs)"
        )
        parser.add_argument(
            "--access-log", action="store_true", help="log every request (off by default)"
        )
        parser.add_argument(
            "--max-restarts",
            type=int,
            default=5,
            help="restarts allowed per process within --restart-window before giving up",
        )
        parser.add_argument("--restart-window", type=float, default=60.0, help="seconds")
        parser.add_argument(
            "--banner",
            type=Path,
            help="file to print once everything is ready (scripts/serve: demo credentials)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        if processes.is_listening("127.0.0.1" if host in ("0.0.0.0", "::") else host, port):
            raise CommandError(f"port {port} on {host} is already in use")
        self._warn_unapplied_migrations()
        # WhiteNoise warns in every process when STATIC_ROOT does not exist.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")
        env["PYTHONUNBUFFERED"] = "1"
        if "QS_SERVER_HOSTNAME" not in os.environ:
            # Generated pull commands and token realms must name the port actually served.
            shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
            env["QS_SERVER_HOSTNAME"] = f"{shown}:{port}"
        base_url = f"{settings.QS_PREFERRED_URL_SCHEME}://{env['QS_SERVER_HOSTNAME']}"

        stop = threading.Event()
        received: list[int] = []

        children: list[Child] = []

        def on_signal(signum: int, _frame: Any) -> None:
            received.append(signum)
            if stop.is_set() and len(received) > 1:
                # A second Ctrl-C: the user will not wait for a warm worker shutdown.
                for child in children:
                    child.signal(signal.SIGKILL, group=True)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        failure: str | None = None
        try:
            redis_child = self._start_redis(settings.REDIS_URL, env)
            if redis_child is not None:
                children.append(redis_child)
                self._wait(
                    lambda: _redis_ping(settings.REDIS_URL),
                    stop,
                    children,
                    "Redis to answer",
                )
            worker = Child(
                "worker",
                processes.worker_command(
                    concurrency=options["concurrency"],
                    beat=True,
                    schedule_file=settings.VAR_DIR / "celerybeat-schedule",
                ),
                env=env,
                cwd=settings.BASE_DIR,
                stop_timeout=20,
            )
            web = Child(
                "web",
                processes.web_command(
                    host=host,
                    port=port,
                    workers=options["workers"],
                    access_log=options["access_log"],
                ),
                env=env,
                cwd=settings.BASE_DIR,
            )
            children += [worker.start(), web.start()]
            health = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
            self._wait(
                lambda: processes.http_ok(health + processes.HEALTH_PATH),
                stop,
                children,
                "the web server",
            )
            self._wait(_worker_ping, stop, children, "the Celery worker")
            if not stop.is_set():
                if options["banner"] is not None and options["banner"].is_file():
                    # After the start-up logs, where the user looks, not scrolled away above.
                    self.stdout.write(options["banner"].read_text().rstrip())
                self.stdout.write(
                    self.style.SUCCESS(f"quaysquash is running at {base_url}/ (Ctrl-C stops it)")
                )
            limit = processes.RestartLimit(options["max_restarts"], options["restart_window"])
            while not stop.wait(0.5):
                dead = next((c for c in children if not c.alive()), None)
                if dead is not None:
                    failure = self._restart(dead, limit)
                    if failure:
                        break
        except (processes.ChildExited, TimeoutError, FileNotFoundError) as exc:
            failure = str(exc)
        finally:
            if failure:
                self.stderr.write(f"{failure}; stopping the other processes")
            elif received:
                self.stdout.write(f"received {signal.Signals(received[0]).name}, stopping")
            # Reverse order: web first, Redis last, so a stopping worker can still ack.
            for child in reversed(children):
                child.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failure:
            raise CommandError(failure)
        self.stdout.write("stopped")

    def _restart(self, dead: Child, limit: processes.RestartLimit) -> str | None:
        """Start ``dead`` again; returns the failure message once it has died too often."""
        code = dead.process.returncode if dead.process else None
        # Reap it and whatever it left in its group (a killed worker's pool processes).
        dead.stop(timeout=0)
        if not limit.allow(dead.name):
            return (
                f"{dead.name} exited unexpectedly (code {code}) {limit.recent(dead.name) + 1} "
                f"times within {limit.window:.0f}s; giving up"
            )
        self.stderr.write(
            f"{dead.name} exited unexpectedly (code {code}); restarting it "
            f"({limit.recent(dead.name)} of {limit.count} restarts within {limit.window:.0f}s)"
        )
        dead.start()
        return None

    def _start_redis(self, url: str, env: dict[str, str]) -> Child | None:
        address = processes.parse_redis_url(url)
        if not address.is_loopback:
            return None
        if processes.is_listening(address.host, address.port):
            self.stdout.write(f"using the Redis already listening on {address.host}:{address.port}")
            return None
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        return Child(
            "redis",
            processes.redis_command(address.port, data_dir, persist=True),
            env=env,
        ).start()

    def _wait(self, check, stop: threading.Event, children: list[Child], what: str) -> None:
        processes.wait_until(
            check, timeout=READY_TIMEOUT, interval=0.2, alive=children, what=what, stop=stop
        )

    def _warn_unapplied_migrations(self) -> None:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        try:
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:  # a missing database is reported, not fatal here
            self.stderr.write(f"could not check migrations: {exc}")
            return
        if plan:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(plan)} migration(s) not applied; run `{sys.executable} manage.py "
                    "migrate` (scripts/serve does)"
                )
            )


def _redis_ping(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _worker_ping() -> bool:
    from quaysquash.core.tasks import ping

    return ping.apply_async(args=["ready"], expires=30).get(timeout=5) == "ready"

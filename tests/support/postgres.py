"""A private PostgreSQL server on a free loopback port, as ``scripts/test`` starts one.

initdb into a fresh directory, then ``postgres`` in the foreground under our supervision (so
it dies with us). PostgreSQL refuses to run as root: as root, its processes run as the
``postgres`` OS user (``setpriv`` execs in place, so the child we hold is the postmaster).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from .server_process import LoopbackServer


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps the server binaries versioned and off PATH; take the newest.
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bin_dir / name).is_file():
            return str(bin_dir / name)
    raise FileNotFoundError(f"{name} not found (Debian package postgresql)")


def _is_root() -> bool:
    return os.geteuid() == 0


class PostgresServer(LoopbackServer):
    """``postgres`` with durability off (a throw-away server) and room for many connections."""

    log_name = "postgres.log"
    label = "PostgreSQL"
    user = "postgres"
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to leave).
    stop_signal = signal.SIGINT
    stop_timeout = 20.0

    def __init__(self, workdir: Path | None = None, port: int | None = None) -> None:
        # Its own directory: the postgres OS user cannot enter root's private temp dirs.
        super().__init__(Path(workdir or tempfile.mkdtemp(prefix="qs-pg-")), port)
        self.password = secrets.token_hex(16)
        self.data_dir = self.workdir / "data"

    def _as_postgres(self, command: list[str]) -> list[str]:
        if not _is_root():
            return command
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command]

    def start(self, timeout: float = 60) -> PostgresServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if _is_root():
            shutil.chown(self.workdir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        initdb = subprocess.run(
            self._as_postgres(
                [
                    _pg_tool("initdb"), "-D", str(self.data_dir), "-U", self.user,
                    f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                    "-E", "UTF8", "--locale=C", "--no-sync",
                ]
            ),
            capture_output=True,
            text=True,
        )  # fmt: skip
        pwfile.unlink()
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stdout[-2000:]}{initdb.stderr[-2000:]}")
        self.launch(
            self._as_postgres(
                [
                    _pg_tool("postgres"),
                    "-D",
                    str(self.data_dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-p",
                    str(self.port),
                    "-c",
                    f"unix_socket_directories={self.workdir}",
                    # Durability is worthless for a throw-away server and costs most of its time.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                ]
            ),
            self._accepts,
            timeout,
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{self.user}:{quote(self.password)}@127.0.0.1:{self.port}/{database}"

    def _connect(self):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=2,
        )

    def _accepts(self) -> bool:
        with self._connect() as conn:
            conn.execute("SELECT 1")
        return True

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"qs_{secrets.token_hex(4)}"
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self._connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

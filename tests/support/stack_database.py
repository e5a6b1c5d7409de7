"""The database of a test stack: a SQLite file of its own, or a fresh database on the outer
PostgreSQL server the suite runs against."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


class StackDatabase:
    """The stack's own database: a SQLite file, or a fresh database on the outer PostgreSQL."""

    def __init__(self, workdir: Path, outer_url: str | None) -> None:
        self.outer_url = outer_url or ""
        self.postgres = urlsplit(self.outer_url).scheme in ("postgres", "postgresql", "pgsql")
        if self.postgres:
            self.name = f"qs_stack_{secrets.token_hex(4)}"
            parts = urlsplit(self.outer_url)
            self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        else:
            self.name = str(Path(workdir) / "stack.sqlite3")
            self.url = f"sqlite:///{self.name}"

    def _admin_connection(self):
        import psycopg

        parts = urlsplit(self.outer_url)
        return psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username,
            password=parts.password,
            dbname=parts.path.lstrip("/") or "postgres",
            autocommit=True,
        )

    def create(self) -> None:
        if self.postgres:
            with self._admin_connection() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            with self._admin_connection() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

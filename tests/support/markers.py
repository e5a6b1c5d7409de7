"""Which tests depend on the database engine, so the PostgreSQL run can skip the rest.

The suite runs twice, on SQLite and on PostgreSQL. Only tests whose outcome can depend on the
database need the second run: those on pytest-django's test database, and those driving a
running stack (its processes use a fresh database on the PostgreSQL server in that run). The
engine, the oracles, pure units and the browser tests (they check pages, not SQL) run once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable)

# pytest-django's database fixtures all depend on django_db_setup.
DATABASE_FIXTURES: set[str] = {"django_db_setup"}
# Tests that use these run once even when they also touch the database.
ONCE_FIXTURES: set[str] = {"chromium"}


def database_backed(fixture: F) -> F:
    """Mark a fixture (below ``@pytest.fixture``) as handing out something that uses the
    database of the run, e.g. a stack started with ``outer_database_url``."""
    DATABASE_FIXTURES.add(fixture.__name__)
    return fixture


def mark_database_tests(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & ONCE_FIXTURES:
            continue
        if names & DATABASE_FIXTURES or item.get_closest_marker("django_db"):
            item.add_marker(pytest.mark.database)

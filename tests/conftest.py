"""Fixtures for real external components shared by all test packages."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.dockerd import Dockerd
from tests.support.markers import database_backed, mark_database_tests
from tests.support.podman import Podman
from tests.support.running import running

if TYPE_CHECKING:
    from tests.support.ceph_rgw import CephRgw
    from tests.support.s3_server import S3Server
    from tests.support.stack import Stack


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """A private Docker engine for the whole test session."""
    # Short path: the unix socket path must stay under 108 bytes.
    engine = Dockerd(Path(tempfile.mkdtemp(prefix="qsdk-", dir="/tmp")))
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    """A private podman (vfs store, own auth file) for one test."""
    client = Podman(tmp_path / "podman-home")
    try:
        yield client
    finally:
        client.close()


# --- Redis, S3 and the running stack (tests/support/stack.py) --------------------------------

INTEGRATION_FIXTURES = {"dockerd", "redis_server", "stack", "s3_server", "radosgw"}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port, without persistence; yields its URL."""
    from tests.support.redis_server import RedisServer

    with running(RedisServer, "qsredis-") as server:
        yield server.url


@pytest.fixture(scope="session")
@database_backed
def stack() -> Iterator[Stack]:
    """A complete running quaysquash (uvicorn, Celery worker with beat, Redis) in subprocesses.

    It has its own var dir, storage, database (a fresh PostgreSQL database when the suite runs
    on PostgreSQL) and Redis: nothing is shared with the pytest-django test database.
    """
    from tests.support.stack import Stack

    outer = os.environ.get("DATABASE_URL")
    with running(lambda workdir: Stack(workdir, outer_database_url=outer), "qsstack-") as stack:
        yield stack


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A private S3-compatible server (moto's HTTP server) on a free loopback port.

    Tests make their own buckets (``create_bucket()``) so that they never see each other's
    objects; ``env(bucket)`` gives the settings that point quaysquash at one.
    """
    from tests.support.s3_server import S3Server

    with running(S3Server, "qss3-") as server:
        yield server


@pytest.fixture(scope="session")
def radosgw() -> Iterator[CephRgw]:
    """Ceph's S3 gateway on a private one-node cluster (tests/support/ceph_rgw.py): a real S3
    server that checks signatures, presigned-URL expiry and multipart part sizes, which moto's
    does not. Same interface as ``s3_server``."""
    from tests.support.ceph_rgw import CephRgw

    with running(CephRgw, "qsrgw-") as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use real services are integration tests whether or not they say so.
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    mark_database_tests(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    # Playwright's sync API marks its event loop as running in this thread between calls, and
    # the browser is session-scoped: Django would then refuse every later database test of
    # this worker ("cannot call this from an async context"). Hide the loop while a test that
    # does not drive the browser runs (the chromium fixture puts it back before closing).
    if "chromium" in getattr(item, "fixturenames", ()):
        return (yield)
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        return (yield)
    finally:
        asyncio._set_running_loop(loop)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and os.environ.get("CI", "").lower() in ("true", "1", "yes")
    ):
        # CI installs every tool, so a skip there can only hide a broken test.
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which allows no skips: {reason}"
    if report.failed and "stack" in getattr(item, "fixturenames", ()):
        running = getattr(item, "funcargs", {}).get("stack")
        if running is not None:
            report.sections.append(("stack logs (tail)", running.log_tails()))
    return report

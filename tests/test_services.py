"""The shared service fixtures: a private Redis and the running stack."""

from __future__ import annotations

import signal

import pytest
import redis
import requests

from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_it_runs_a_private_redis(redis_server: str) -> None:
    client = redis.Redis.from_url(redis_server)
    try:
        assert client.ping()
        client.set("qs:probe", "1")
        assert client.get("qs:probe") == b"1"
        # No persistence: a test Redis must never write dump files.
        assert client.config_get("save")["save"] == ""
    finally:
        client.close()


def test_it_answers_http(stack: Stack) -> None:
    response = requests.get(stack.url + "/admin/login/", timeout=10)
    assert response.status_code == 200
    assert stack.host == f"127.0.0.1:{stack.port}"
    assert stack.env["QS_SERVER_HOSTNAME"] == stack.host


def test_it_runs_tasks_on_the_worker(stack: Stack) -> None:
    assert stack.ping() == "pong"
    result = stack.celery.send_task("quaysquash.core.tasks.ping", args=["hello"])
    assert result.get(timeout=30) == "hello"


def test_it_uses_its_own_database_and_storage(stack: Stack) -> None:
    out = stack.python(
        "from django.conf import settings\n"
        "print(settings.DATABASES['default']['NAME'])\n"
        "print(settings.QS_STORAGE_ROOT)\n"
        "print(settings.QS_SCRATCH_DIR)\n"
        "print(settings.REDIS_URL)"
    )
    db_name, storage, cache, redis_url = out.split()
    assert db_name == stack.database.name
    assert storage == str(stack.storage_root)
    assert cache == str(stack.scratch_dir)
    assert redis_url == stack.redis.url


def test_it_replaces_a_killed_worker(stack: Stack) -> None:
    first = stack.worker_pid
    assert first is not None
    stack.kill_worker(signal.SIGKILL)
    assert stack.worker_pid is None
    second = stack.start_worker()
    assert second != first
    assert stack.ping() == "pong"
    third = stack.restart_worker()
    assert third not in (first, second)
    assert stack.ping() == "pong"


def test_it_creates_users_orgs_and_robots(stack: Stack) -> None:
    stack.create_user("svcadmin", "svc-password-123")
    stack.create_org("svcorg", "svcadmin")
    name, token = stack.create_robot("svcorg", "bot")
    assert name == "svcorg+bot"
    assert len(token) == 64

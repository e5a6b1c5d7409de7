"""``quaysquash.wsgi`` refuses to load, naming the ASGI commands: a WSGI server cannot stream
squashes (it answered 500 to cached ones and buffered cold ones whole)."""

from __future__ import annotations

import subprocess
import sys

from tests.support.tools import REPO_ROOT


def test_it_refuses_to_load_and_names_the_asgi_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import quaysquash.wsgi"],
        cwd=REPO_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "quaysquash.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "uvicorn quaysquash.asgi:application" in result.stderr
    assert "manage.py serve" in result.stderr and "manage.py runserver" in result.stderr


def test_it_makes_runserver_the_asgi_one() -> None:
    from django.core.management import get_commands

    assert get_commands()["runserver"] == "quaysquash.core"

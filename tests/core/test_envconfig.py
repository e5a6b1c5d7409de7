"""The typed environment readers behind settings.py refuse what they cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from quaysquash.envconfig import envbool, envchoice, envfloat, envint, envpath


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "on"])
def test_it_reads_true(monkeypatch, value):
    monkeypatch.setenv("QS_X", value)
    assert envbool("QS_X", "false") is True


@pytest.mark.parametrize("value", ["0", "false", "No", "off", ""])
def test_it_reads_false(monkeypatch, value):
    monkeypatch.setenv("QS_X", value)
    assert envbool("QS_X", "true") is False


def test_it_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("QS_X", raising=False)
    assert envbool("QS_X", "true") is True
    assert envint("QS_X", "7") == 7
    assert envfloat("QS_X", "0.5") == 0.5
    assert envchoice("QS_X", "local", ("local", "s3")) == "local"
    assert envpath("QS_X", Path("/d")) == Path("/d")


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        (lambda: envbool("QS_X", "false"), "yes please"),
        (lambda: envbool("QS_X", "false"), "flase"),
        (lambda: envint("QS_X", "1"), "10MB"),
        (lambda: envfloat("QS_X", "1"), "fast"),
        (lambda: envchoice("QS_X", "local", ("local", "s3")), "S4"),
    ],
)
def test_it_refuses_a_typo_naming_the_variable(monkeypatch, reader, value):
    monkeypatch.setenv("QS_X", value)
    with pytest.raises(ImproperlyConfigured, match=r"QS_X="):
        reader()


def test_it_resolves_a_path(monkeypatch, tmp_path):
    monkeypatch.setenv("QS_X", str(tmp_path / "a" / ".." / "b"))
    assert envpath("QS_X", Path("/d")) == tmp_path / "b"


def test_it_stops_manage_py_at_start_on_a_typo(tmp_path):
    import os
    import subprocess
    import sys

    from tests.support.tools import REPO_ROOT

    env = {**os.environ, "QS_VAR_DIR": str(tmp_path), "DEBUG": "maybe"}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_it_reads_a_settings_group_with_renamed_members(settings):
    from quaysquash.envconfig import settings_group

    settings.QS_T_SIZE, settings.QS_T_NAME, settings.QS_OTHER = 3, "x", True
    group = settings_group("QS_T_", ["size", "name"], flag="QS_OTHER")
    assert group == {"size": 3, "name": "x", "flag": True}
    with pytest.raises(AttributeError):
        settings_group("QS_T_", ["missing"])

"""Typed readers of environment variables for ``settings.py``.

Each refuses a value it cannot read, naming the variable: a typo in a deployment's environment
(``QS_S3_REDIRECT=flase``) stops the process at start instead of silently meaning the default's
opposite.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def _raw(name: str, default: str) -> str:
    return os.getenv(name, default).strip()


def envbool(name: str, default: str) -> bool:
    value = _raw(name, default).lower()
    if value in TRUE:
        return True
    if value in FALSE or value == "":
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of {', '.join(TRUE + FALSE)}"
    )


def _number(name: str, default: str, kind: type, what: str):
    value = _raw(name, default)
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not {what}") from None


def envint(name: str, default: str) -> int:
    return _number(name, default, int, "an integer")


def envfloat(name: str, default: str) -> float:
    return _number(name, default, float, "a number")


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def envpath(name: str, default: Path) -> Path:
    value = os.getenv(name)
    return Path(value).resolve() if value else default


def settings_group(prefix: str, names: Iterable[str], **renamed: str) -> dict[str, Any]:
    """Keyword arguments read from the Django settings ``<prefix><NAME>``, one per name (a
    config object built from its group of settings); ``renamed`` maps a name to a setting
    whose name does not follow the pattern."""
    from django.conf import settings

    wanted = {name: prefix + name.upper() for name in names} | renamed
    return {name: getattr(settings, setting) for name, setting in wanted.items()}

"""HTTP Basic credentials for tests, in the forms the different clients take.

Django's test client wants the header in ``HTTP_AUTHORIZATION``; raw sockets and curl want the
header line; ``requests`` takes ``(name, secret)`` as ``auth=`` and needs nothing from here.
A robot's credentials are its full name (``org+short``) and its token.
"""

from __future__ import annotations

import base64
from typing import Protocol


class _Robot(Protocol):
    full_name: str
    token: str


def basic(name: str, secret: str) -> str:
    """The value of an ``Authorization`` header for ``name:secret``."""
    return "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()


def basic_meta(name: str, secret: str) -> dict[str, str]:
    """Keyword arguments for Django's test client carrying the Basic header."""
    return {"HTTP_AUTHORIZATION": basic(name, secret)}


def robot_credentials(bot: _Robot) -> tuple[str, str]:
    return bot.full_name, bot.token


def robot_meta(bot: _Robot) -> dict[str, str]:
    """Django test client keyword arguments authenticating as robot ``bot``."""
    return basic_meta(*robot_credentials(bot))

"""Who is asking: anonymous, a Django user or a robot account, and how to recognise them.

Every permission check takes a *principal*: ``None`` or an ``AnonymousUser``, a Django user,
or a :class:`~quaysquash.accounts.models.RobotAccount`.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any, TypeAlias

from django.contrib.auth import authenticate

from .models import Repository, RobotAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    Principal: TypeAlias = "AbstractBaseUser | AnonymousUser | RobotAccount | None"
else:
    Principal = Any


def is_anonymous(principal: Principal) -> bool:
    if principal is None:
        return True
    if isinstance(principal, RobotAccount):
        return False
    return not getattr(principal, "is_authenticated", False)


def is_robot(principal: Principal) -> bool:
    return isinstance(principal, RobotAccount)


def principal_name(principal: Principal) -> str:
    if is_anonymous(principal):
        return "anonymous"
    if isinstance(principal, RobotAccount):
        return principal.full_name
    return principal.get_username()


class BadCredentials(Exception):
    """Credentials were sent but are wrong: answer 401, never fall back to anonymous."""


class RobotTokenExpired(BadCredentials):
    """The robot's token was right but has expired; the message says so and when."""

    def __init__(self, robot: RobotAccount) -> None:
        when = robot.token_expires.strftime("%Y-%m-%d %H:%M UTC") if robot.token_expires else ""
        super().__init__(
            f"robot token expired: the token of {robot.full_name} expired on {when}; "
            "an administrator can regenerate it"
        )


def ensure_token_current(robot: RobotAccount) -> None:
    """The one expiry check: every way a robot authenticates (Basic on /v2/, /v2/auth, the
    squash URL, and bearer tokens issued to it) calls this. Raises :class:`RobotTokenExpired`."""
    if robot.token_expired():
        raise RobotTokenExpired(robot)


def authenticate_credentials(username: str, secret: str, request=None) -> Principal:
    """A robot (``ns+short`` and its token) or a user (name and password), or ``None``.

    The one check of credentials, done by the authentication backend
    (:mod:`quaysquash.accounts.backends`). Raises :class:`RobotTokenExpired` for a robot whose
    (correct) token has expired.
    """
    return authenticate(request, username=username, password=secret, robots=True)


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return username, secret


def require_principal(username: str, secret: str, request=None) -> Principal:
    """The principal the credentials name; raises :class:`BadCredentials` when they are wrong
    (an expired robot token: :class:`RobotTokenExpired`, whose message says so)."""
    principal = authenticate_credentials(username, secret, request)
    if principal is None:
        raise BadCredentials()
    return principal


def principal_from_basic(header: str, request=None) -> Principal:
    """The principal of an ``Authorization`` header that must hold valid Basic credentials:
    what every Basic caller (``/v2/``, ``/v2/auth``, ``/c1/squash/``) uses. Raises
    :class:`BadCredentials` for another scheme, a malformed value or wrong credentials."""
    parsed = parse_basic_auth(header)
    if parsed is None:
        raise BadCredentials()
    return require_principal(*parsed, request)


def principal_from_request(request) -> Principal:
    """The principal behind an HTTP request: Basic credentials first, then the session.

    Raises :class:`BadCredentials` when an Authorization: Basic header does not authenticate.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        return principal_from_basic(header, request)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def allowed_actions(principal: Principal, repository: Repository) -> set[str]:
    """The subset of read/write/admin that ``principal`` has on ``repository``."""
    return {
        action
        for action in ("read", "write", "admin")
        if Repository.objects.restrict(principal, action).filter(pk=repository.pk).exists()
    }

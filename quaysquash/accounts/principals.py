"""Who is asking: anonymous, a Django user or a robot account, and how to recognise them.

Every permission check takes a *principal*: ``None`` or an ``AnonymousUser``, a Django user,
or a :class:`~quaysquash.accounts.models.RobotAccount`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from django.contrib.auth import authenticate
from django.utils import timezone

from .models import Namespace, Repository, RobotAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    Principal: TypeAlias = "AbstractBaseUser | AnonymousUser | RobotAccount | None"
else:
    Principal = Any

# last_used is informative; writing it on every request would make each pull a DB write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def authenticate_credentials(username: str, secret: str) -> Principal:
    """A robot (``ns+short`` and its token) or a user (name and password), or ``None``.

    Raises :class:`RobotTokenExpired` for a robot whose (correct) token has expired.
    """
    if "+" in username:
        try:
            robot = RobotAccount.objects.get_by_full_name(username)
        except RobotAccount.DoesNotExist:
            return None
        if not robot.check_token(secret):
            return None
        # Only after the token matched: nobody learns about expiry without the secret.
        ensure_token_current(robot)
        now = timezone.now()
        if robot.last_used is None or now - robot.last_used > LAST_USED_RESOLUTION:
            RobotAccount.objects.filter(pk=robot.pk).update(last_used=now)
            robot.last_used = now
        return robot
    user = authenticate(username=username, password=secret)
    if user is None or not user.is_active:
        return None
    return user


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


def principal_from_request(request) -> Principal:
    """The principal behind an HTTP request: Basic credentials first, then the session.

    Raises :class:`BadCredentials` when an Authorization: Basic header does not authenticate.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        parsed = parse_basic_auth(header)
        principal = authenticate_credentials(*parsed) if parsed else None
        if principal is None:
            raise BadCredentials()
        return principal
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def can_create_repository(principal: Principal, namespace: Namespace) -> bool:
    """Pushing to a new name creates the repository for org admins and a user in their own
    namespace; robots only write to repositories that already exist."""
    if is_anonymous(principal) or isinstance(principal, RobotAccount):
        return False
    return namespace.is_admin(principal)


def allowed_actions(principal: Principal, repository: Repository) -> set[str]:
    """The subset of read/write/admin that ``principal`` has on ``repository``."""
    return {
        action
        for action in ("read", "write", "admin")
        if Repository.objects.restrict(principal, action).filter(pk=repository.pk).exists()
    }

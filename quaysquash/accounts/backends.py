"""The one authentication backend: users by password, robot accounts by token.

It is the only entry of ``AUTHENTICATION_BACKENDS``, so the sign-in page, the Django admin and
every caller of Basic credentials (``/v2/``, ``/v2/auth``, ``/c1/squash/``) go through the same
code. Robot accounts (``<namespace>+<short>``) are accepted only when the caller asks for them
with ``robots=True``: they are no Django users, and a session sign-in, which logs in whatever
the backend returns, must never get one.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from .models import RobotAccount
from .principals import ensure_token_current

# last_used is informative; writing it on every request would make each pull a DB write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class CredentialsBackend(ModelBackend):
    """Django's user/password check, plus robot tokens for callers passing ``robots=True``.

    A name containing ``+`` is then a robot's and only a robot's: it never falls back to a user
    of that name. A correct but expired robot token raises
    :class:`~quaysquash.accounts.principals.RobotTokenExpired` rather than answering ``None``,
    so the caller can say why it is refused.
    """

    def authenticate(
        self,
        request,
        username: str | None = None,
        password: str | None = None,
        robots: bool = False,
        **kwargs,
    ):
        if robots and username is not None and "+" in username:
            return authenticate_robot(username, password or "")
        return super().authenticate(request, username=username, password=password, **kwargs)


def authenticate_robot(full_name: str, token: str) -> RobotAccount | None:
    try:
        robot = RobotAccount.objects.get_by_full_name(full_name)
    except RobotAccount.DoesNotExist:
        return None
    if not robot.check_token(token):
        return None
    # Only after the token matched: nobody learns about expiry without the secret.
    ensure_token_current(robot)
    now = timezone.now()
    if robot.last_used is None or now - robot.last_used > LAST_USED_RESOLUTION:
        RobotAccount.objects.filter(pk=robot.pk).update(last_used=now)
        robot.last_used = now
    return robot

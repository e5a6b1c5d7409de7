"""The one authentication backend: passwords for everyone, robot tokens only when asked."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone

from quaysquash.accounts.backends import LAST_USED_RESOLUTION, CredentialsBackend
from quaysquash.accounts.models import RobotAccount
from quaysquash.accounts.principals import RobotTokenExpired, authenticate_credentials
from tests.factories import PASSWORD, org, robot, user, wrong_token

pytestmark = pytest.mark.django_db


def test_it_is_the_only_configured_backend():
    assert settings.AUTHENTICATION_BACKENDS == ["quaysquash.accounts.backends.CredentialsBackend"]


def test_it_checks_user_passwords_like_django_does():
    alice = user("alice")
    assert authenticate(username="alice", password=PASSWORD) == alice
    assert authenticate(username="alice", password="wrong") is None
    assert authenticate(username="nobody", password=PASSWORD) is None


def test_it_refuses_inactive_users():
    user("alice", is_active=False)
    assert authenticate(username="alice", password=PASSWORD) is None
    assert authenticate_credentials("alice", PASSWORD) is None


def test_it_accepts_a_robot_token_only_when_the_caller_asks_for_robots():
    bot = robot(org("acme"), "deployer")
    # The sign-in page and the Django admin call authenticate() without robots=True.
    assert authenticate(username=bot.full_name, password=bot.token) is None
    assert authenticate(username=bot.full_name, password=bot.token, robots=True) == bot


def test_it_never_takes_a_robot_name_for_a_user_of_that_name():
    robot(org("acme"), "deployer")
    user("acme+deployer", password="user-password")
    assert authenticate_credentials("acme+deployer", "user-password") is None
    # Where robots are not asked for, the name is a plain user name as in Django.
    assert authenticate(username="acme+deployer", password="user-password") is not None


def test_it_checks_users_when_robots_are_allowed():
    alice = user("alice")
    assert authenticate_credentials("alice", PASSWORD) == alice
    assert authenticate_credentials("alice", "") is None


def test_it_reveals_expiry_only_to_the_right_token():
    bot = robot(org("acme"), "deployer")
    RobotAccount.objects.filter(pk=bot.pk).update(token_expires=timezone.now())
    assert CredentialsBackend().authenticate(None, bot.full_name, "X" * 64, robots=True) is None
    with pytest.raises(RobotTokenExpired):
        CredentialsBackend().authenticate(None, bot.full_name, bot.token, robots=True)


def test_it_writes_last_used_at_most_once_a_resolution():
    bot = robot(org("acme"), "deployer")
    recent = timezone.now() - LAST_USED_RESOLUTION / 2
    RobotAccount.objects.filter(pk=bot.pk).update(last_used=recent)
    authenticate_credentials(bot.full_name, bot.token)
    assert RobotAccount.objects.get(pk=bot.pk).last_used == recent
    stale = timezone.now() - LAST_USED_RESOLUTION - timedelta(seconds=1)
    RobotAccount.objects.filter(pk=bot.pk).update(last_used=stale)
    authenticate_credentials(bot.full_name, bot.token)
    assert RobotAccount.objects.get(pk=bot.pk).last_used > stale


def test_it_keeps_secrets_out_of_the_login_failed_signal():
    from django.contrib.auth.signals import user_login_failed

    bot = robot(org("acme"), "deployer")
    seen: list[dict] = []

    def record(sender, credentials, **kwargs):
        seen.append(credentials)

    user_login_failed.connect(record)
    try:
        authenticate_credentials(bot.full_name, wrong_token(bot.token))
    finally:
        user_login_failed.disconnect(record)
    assert seen and all(bot.token[:-1] not in str(c) for c in seen)

"""From an Authorization header to a principal: the one path every Basic caller takes."""

import base64

import pytest
from django.utils import timezone

from quaysquash.accounts.models import RobotAccount
from quaysquash.accounts.principals import (
    BadCredentials,
    RobotTokenExpired,
    parse_basic_auth,
    principal_from_basic,
    require_principal,
)
from tests.factories import PASSWORD, org, robot, user
from tests.support.basic_auth import basic

pytestmark = pytest.mark.django_db


def test_it_parses_basic_headers():
    assert parse_basic_auth(basic("alice", "pw:with:colons")) == ("alice", "pw:with:colons")
    assert parse_basic_auth("basic " + base64.b64encode(b"a:b").decode()) == ("a", "b")
    assert parse_basic_auth("Basic !!!") is None
    assert parse_basic_auth("Basic " + base64.b64encode(b"no-colon").decode()) is None
    assert parse_basic_auth("Bearer abc") is None


def test_it_turns_basic_credentials_into_users_and_robots():
    alice = user("alice")
    bot = robot(org("acme"), "deployer")
    assert principal_from_basic(basic("alice", PASSWORD)) == alice
    assert principal_from_basic(basic(bot.full_name, bot.token)) == bot


@pytest.mark.parametrize(
    "header", ["Bearer abc", "Basic !!!", basic("alice", "wrong"), basic("acme+nobody", "x")]
)
def test_it_refuses_anything_but_valid_basic_credentials(header):
    user("alice")
    with pytest.raises(BadCredentials) as caught:
        principal_from_basic(header)
    assert not isinstance(caught.value, RobotTokenExpired)


def test_it_says_when_a_robot_token_expired():
    bot = robot(org("acme"), "deployer")
    RobotAccount.objects.filter(pk=bot.pk).update(token_expires=timezone.now())
    with pytest.raises(RobotTokenExpired, match="robot token expired"):
        principal_from_basic(basic(bot.full_name, bot.token))
    with pytest.raises(RobotTokenExpired):
        require_principal(bot.full_name, bot.token)

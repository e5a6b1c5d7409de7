"""Robot token expiry: the organization policy, and one check that every way in goes through
(Basic on /v2/, the token endpoint /v2/auth, bearer tokens already issued, /c1/squash/)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from quaysquash.accounts.models import RobotAccount
from quaysquash.accounts.principals import RobotTokenExpired, authenticate_credentials
from tests.factories import org, robot
from tests.support.basic_auth import robot_meta

pytestmark = pytest.mark.django_db


def expire(bot: RobotAccount) -> None:
    RobotAccount.objects.filter(pk=bot.pk).update(
        token_expires=timezone.now() - timedelta(seconds=1)
    )


def test_it_issues_tokens_without_expiry_by_default():
    bot = robot(org("acme"), "deployer")
    assert bot.token_expires is None and not bot.token_expired()
    bot.regenerate_token()
    assert bot.token_expires is None


def test_it_applies_the_organization_policy_on_create_and_regenerate():
    ns = org("acme")
    ns.robot_token_days = 30
    ns.save()
    bot = robot(ns, "deployer")
    assert timedelta(days=29) < bot.token_expires - timezone.now() <= timedelta(days=30)
    RobotAccount.objects.filter(pk=bot.pk).update(token_expires=timezone.now())
    bot.refresh_from_db()
    bot.regenerate_token()
    bot.refresh_from_db()
    assert bot.token_expires - timezone.now() > timedelta(days=29)


def test_it_says_expired_only_to_who_holds_the_token():
    bot = robot(org("acme"), "deployer")
    expire(bot)
    with pytest.raises(RobotTokenExpired, match="robot token expired"):
        authenticate_credentials(bot.full_name, bot.token)
    assert authenticate_credentials(bot.full_name, "X" * 64) is None


def test_it_refuses_an_expired_token_on_v2_basic(client, w):
    assert client.get("/v2/", **robot_meta(w.deployer)).status_code == 200
    expire(w.deployer)
    resp = client.get("/v2/", **robot_meta(w.deployer))
    assert resp.status_code == 401
    (error,) = resp.json()["errors"]
    assert error["code"] == "UNAUTHORIZED" and "robot token expired" in error["message"]


def test_it_refuses_an_expired_token_at_the_token_endpoint(client, w):
    scope = {"service": "t", "scope": "repository:acme/web:pull"}
    assert client.get("/v2/auth", scope, **robot_meta(w.deployer)).status_code == 200
    expire(w.deployer)
    resp = client.get("/v2/auth", scope, **robot_meta(w.deployer))
    assert resp.status_code == 401
    assert "robot token expired" in resp.json()["errors"][0]["message"]
    form = client.post(
        "/v2/auth",
        {
            "grant_type": "password",
            "username": w.deployer.full_name,
            "password": w.deployer.token,
            "service": "t",
        },
    )
    assert form.status_code == 401 and "robot token expired" in form.content.decode()


def test_it_refuses_a_bearer_token_issued_before_the_expiry(client, w):
    scope = {"service": "t", "scope": "repository:acme/web:pull"}
    bearer = client.get("/v2/auth", scope, **robot_meta(w.deployer)).json()["token"]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"}
    assert client.get("/v2/acme/web/tags/list", **headers).status_code == 200
    expire(w.deployer)
    resp = client.get("/v2/", **headers)
    assert resp.status_code == 401
    assert "robot token expired" in resp.json()["errors"][0]["message"]


def test_it_refuses_an_expired_token_on_the_squash_url(client, w):
    expire(w.deployer)
    resp = client.get("/c1/squash/acme/web/v1", **robot_meta(w.deployer))
    assert resp.status_code == 401
    (error,) = resp.json()["errors"]
    assert error["code"] == "UNAUTHORIZED" and "robot token expired" in error["message"]

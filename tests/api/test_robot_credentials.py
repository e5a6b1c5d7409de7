"""/robots/<short>/credentials, /regenerate with expiry, /robotpolicy and expiry in listings."""

import base64
import json
from datetime import timedelta

import pytest
import yaml
from django.utils import timezone

from quaysquash.accounts.models import RobotAccount

CREDS = "/api/v1/organization/acme/robots/deployer/credentials"


@pytest.fixture(autouse=True)
def _host(settings):
    settings.QS_SERVER_HOSTNAME = "registry.example.test:5000"
    settings.QS_PREFERRED_URL_SCHEME = "https"


def test_it_gives_admins_every_credential_format(client, w):
    client.force_login(w.alice)
    data = client.get(CREDS).json()
    token = w.deployer.token
    assert data["name"] == "acme+deployer" and data["token"] == token
    host = "registry.example.test:5000"
    assert data["docker_login"] == f"docker login -u 'acme+deployer' -p '{token}' {host}"
    assert data["podman_login"] == f"podman login -u 'acme+deployer' -p '{token}' {host}"
    config = json.loads(data["docker_config"])
    auth = base64.b64decode(config["auths"][host]["auth"]).decode()
    assert auth == f"acme+deployer:{token}"
    secret = yaml.safe_load(data["kubernetes_secret"])
    assert secret["kind"] == "Secret" and secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["name"] == "acme-deployer-pull-secret"
    inner = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert inner == config
    assert data["kubernetes_secret_filename"] == "acme+deployer-secret.yml"
    assert data["kubectl_create_secret"].startswith(
        "kubectl create secret docker-registry acme-deployer-pull-secret "
        f"--docker-server={host} --docker-username='acme+deployer' --docker-password='{token}'"
    )
    assert data["token_expires"] is None and data["token_expired"] is False


def test_it_keeps_credentials_from_non_admins(client, w):
    for who in (w.bob, w.eve):
        client.force_login(who)
        resp = client.get(CREDS)
        assert resp.status_code == 403
        assert w.deployer.token not in resp.content.decode()


def test_it_uses_tls_verify_false_for_podman_on_plain_http(client, w, settings):
    settings.QS_PREFERRED_URL_SCHEME = "http"
    client.force_login(w.alice)
    assert client.get(CREDS).json()["podman_login"].startswith("podman login --tls-verify=false")


def test_it_regenerates_with_the_policy_expiry(client, w):
    client.force_login(w.alice)
    resp = client.put(
        "/api/v1/organization/acme/robotpolicy",
        {"robot_token_days": 7},
        content_type="application/json",
    )
    assert resp.json() == {"robot_token_days": 7}
    old = w.deployer.token
    data = client.post(
        "/api/v1/organization/acme/robots/deployer/regenerate", {}, content_type="application/json"
    ).json()
    assert data["token"] != old and len(data["token"]) == 64
    expires = data["token_expires"] - timezone.now().timestamp()
    assert timedelta(days=6).total_seconds() < expires <= timedelta(days=7).total_seconds()
    assert "docker login" in data["docker_login"] and data["token"] in data["docker_login"]


def test_it_refuses_expiries_the_policy_forbids(client, w):
    w.acme.robot_token_days = 7
    w.acme.save()
    client.force_login(w.alice)
    url = "/api/v1/organization/acme/robots/builder"
    never = client.put(url, {"token_expiration": None}, content_type="application/json")
    assert never.status_code == 400 and "requires robot tokens to expire" in never.content.decode()
    far = int((timezone.now() + timedelta(days=30)).timestamp())
    assert (
        client.put(url, {"token_expiration": far}, content_type="application/json").status_code
        == 400
    )
    past = int((timezone.now() - timedelta(days=1)).timestamp())
    assert (
        client.put(url, {"token_expiration": past}, content_type="application/json").status_code
        == 400
    )
    soon = int((timezone.now() + timedelta(days=2)).timestamp())
    created = client.put(url, {"token_expiration": soon}, content_type="application/json")
    assert created.status_code == 201 and created.json()["token_expires"] == soon


def test_it_lets_only_admins_change_the_policy(client, w):
    client.force_login(w.bob)
    url = "/api/v1/organization/acme/robotpolicy"
    assert client.get(url).json() == {"robot_token_days": None}
    resp = client.put(url, {"robot_token_days": 3}, content_type="application/json")
    assert resp.status_code == 403


def test_it_shows_expiry_in_listings_and_warns_in_the_fetch_command(client, w):
    RobotAccount.objects.filter(pk=w.deployer.pk).update(
        token_expires=timezone.now() - timedelta(hours=1)
    )
    client.force_login(w.alice)
    robots = client.get("/api/v1/organization/acme/robots").json()["robots"]
    by_name = {r["name"]: r for r in robots}
    assert by_name["acme+deployer"]["token_expired"] is True
    assert by_name["acme+norights"]["token_expired"] is False
    fetch = client.get(
        "/api/v1/repository/acme/web/tag/v1/fetch?kind=squash-docker&robot=deployer"
    ).json()
    assert "has expired" in fetch["warning"]
    html = client.get("/organization/acme?tab=robots").content.decode()
    assert 'class="label label-expired">expired' in html

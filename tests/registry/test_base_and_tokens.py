"""``/v2/`` and the token endpoint ``/v2/auth``: challenges, Basic auth, bearer tokens."""

from __future__ import annotations

import json
import time

from quaysquash.registry import tokens

from .conftest import basic, error_codes


def get_token(client, scope: str | list[str], auth: str | None = None) -> dict:
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    scopes = [scope] if isinstance(scope, str) else scope
    response = client.get("/v2/auth", {"service": "test", "scope": scopes}, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_it_challenges_anonymous_callers_on_the_base_endpoint(world, client, settings):
    response = client.get("/v2/")
    assert response.status_code == 401
    assert error_codes(response) == ["UNAUTHORIZED"]
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="http://testserver/v2/auth",service="{settings.QS_REGISTRY_SERVICE}"'
    )


def test_it_accepts_basic_auth_for_users_and_robots(world, client):
    for who in (world.admin, world.reader):
        response = client.get("/v2/", **who.headers())
        assert response.status_code == 200
        assert response.json() == {}
        assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_it_refuses_wrong_credentials_without_falling_back_to_anonymous(world, client):
    response = client.get("/v2/", HTTP_AUTHORIZATION=basic("alice", "wrong"))
    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    response = client.get("/v2/acme/public/tags/list", HTTP_AUTHORIZATION=basic("acme+reader", "x"))
    assert response.status_code == 401
    response = client.get(
        "/v2/auth",
        {"scope": "repository:acme/public:pull"},
        HTTP_AUTHORIZATION=basic("alice", "wrong"),
    )
    assert response.status_code == 401


def test_it_issues_tokens_limited_to_what_the_principal_may_do(world, client):
    body = get_token(
        client,
        ["repository:acme/private:pull,push", "repository:acme/public:pull,push,delete"],
        world.reader.auth,
    )
    assert body["token"] == body["access_token"]
    assert body["expires_in"] > 0 and body["issued_at"].endswith("Z")
    claims = tokens.verify(body["token"])
    assert claims.actions_for("acme/private") == {"pull"}
    assert claims.actions_for("acme/public") == {"pull"}


def test_it_gives_anonymous_tokens_pull_on_public_repositories_only(world, client):
    claims = tokens.verify(
        get_token(client, ["repository:acme/public:pull,push", "repository:acme/private:pull"])[
            "token"
        ]
    )
    assert claims.actions_for("acme/public") == {"pull"}
    assert claims.actions_for("acme/private") == set()


def test_it_grants_push_on_a_new_name_to_whoever_may_create_it(world, client):
    admin = tokens.verify(
        get_token(client, "repository:acme/new:pull,push", world.admin.auth)["token"]
    )
    assert admin.actions_for("acme/new") == {"pull", "push"}
    robot = tokens.verify(
        get_token(client, "repository:acme/new:pull,push", world.writer.auth)["token"]
    )
    assert robot.actions_for("acme/new") == set()


def test_it_accepts_space_separated_scopes_and_the_oauth2_password_grant(world, client):
    response = client.post(
        "/v2/auth",
        {
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse battery",
            "scope": "repository:acme/private:pull repository:acme/public:push",
            "service": "test",
        },
    )
    assert response.status_code == 200
    claims = tokens.verify(response.json()["access_token"])
    assert claims.actions_for("acme/private") == {"pull"}
    assert claims.actions_for("acme/public") == {"push"}
    refused = client.post("/v2/auth", {"grant_type": "refresh_token", "refresh_token": "x"})
    assert refused.status_code == 400


def test_it_serves_requests_carrying_a_token(world, client, registry):
    registry.push_image("acme/private", "v1")
    token = get_token(client, "repository:acme/private:pull", world.reader.auth)["token"]
    assert client.get("/v2/", **bearer(token)).status_code == 200
    response = client.get("/v2/acme/private/manifests/v1", **bearer(token))
    assert response.status_code == 200


def test_it_answers_a_token_without_the_needed_scope_with_a_challenge_for_it(world, client):
    token = get_token(client, "repository:acme/private:pull", world.writer.auth)["token"]
    response = client.post("/v2/acme/private/blobs/uploads/", **bearer(token))
    assert response.status_code == 403
    assert error_codes(response) == ["DENIED"]
    challenge = response["WWW-Authenticate"]
    assert 'scope="repository:acme/private:pull,push"' in challenge
    assert 'error="insufficient_scope"' in challenge


def test_it_rejects_tampered_expired_and_foreign_tokens(world, client, settings):
    token = get_token(client, "repository:acme/public:pull", world.reader.auth)["token"]
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload[:-2]}xx.{sig}"
    expired, _, _ = tokens.issue("anonymous", [], ttl=-10)
    for bad in (tampered, expired, "not-a-token"):
        response = client.get("/v2/acme/public/tags/list", **bearer(bad))
        assert response.status_code == 401, bad
        assert error_codes(response) == ["UNAUTHORIZED"]
    settings.QS_REGISTRY_SERVICE = "another-registry"
    assert client.get("/v2/", **bearer(token)).status_code == 401


def test_it_stops_honouring_a_token_once_the_permission_is_revoked(
    world, client, registry, monkeypatch
):
    from quaysquash.accounts.models import RepositoryPermission
    from quaysquash.registry import access

    registry.push_image("acme/private", "v1")
    token = get_token(client, "repository:acme/private:pull", world.reader.auth)["token"]
    assert client.get("/v2/acme/private/manifests/v1", **bearer(token)).status_code == 200
    RepositoryPermission.objects.filter(robot__short_name="reader").delete()
    # Within DECISION_TTL the remembered decision still holds; after it, the revocation does.
    assert client.get("/v2/acme/private/manifests/v1", **bearer(token)).status_code == 200
    monkeypatch.setattr(access, "DECISION_TTL", 0.0)
    access._decisions.clear()
    response = client.get("/v2/acme/private/manifests/v1", **bearer(token))
    assert response.status_code == 404
    assert error_codes(response) == ["NAME_UNKNOWN"]
    refused = get_token(client, "repository:acme/private:pull", world.reader.auth)["token"]
    assert client.get("/v2/acme/private/manifests/v1", **bearer(refused)).status_code == 404


def test_it_keeps_tokens_short_lived(world, client, settings):
    settings.QS_REGISTRY_TOKEN_TTL = 60
    token = get_token(client, "repository:acme/public:pull")["token"]
    claims = tokens.verify(token)
    assert claims.expires_at - int(time.time()) <= 60
    assert json.loads(tokens._unb64(token.split(".")[0])) == {"alg": "HS256", "typ": "JWT"}

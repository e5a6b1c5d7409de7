"""``/v2/`` and the token endpoint ``/v2/auth``: challenges, Basic auth, bearer tokens."""

from __future__ import annotations

import json
import time

from quaysquash.registry import tokens
from tests.support.basic_auth import basic

from .conftest import error_codes


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


def test_it_answers_every_wrong_credential_with_the_same_oci_error(world, client):
    wrong = basic("alice", "wrong")
    responses = [
        client.get("/v2/", HTTP_AUTHORIZATION=wrong),
        client.get("/v2/auth", {"scope": "repository:acme/public:pull"}, HTTP_AUTHORIZATION=wrong),
        # The token endpoint takes Basic only: another scheme is no anonymous request.
        client.get("/v2/auth", HTTP_AUTHORIZATION="Bearer not-a-token-request"),
        client.post("/v2/auth", {"grant_type": "password", "username": "alice", "password": "x"}),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response.json() == {
            "errors": [{"code": "UNAUTHORIZED", "message": "invalid username, password or token"}]
        }
        assert b"wrong" not in response.content


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


def test_it_answers_a_token_without_the_needed_scope_with_a_challenge_for_it(
    world, client, settings, redis_server
):
    """Docker token spec ("the registry ... will return a 401 Unauthorized with information on
    how to authenticate"), as the reference registry answers a token lacking a scope: 401 with
    error="insufficient_scope" and the scope to ask for. The same token sending the same
    request again at once gets 403 with the same challenge: oras-py only asks for a new token
    on 403, after resending its token once. That memory is in the shared Redis, so the retry
    may land on another web server."""
    settings.REDIS_URL = redis_server
    token = get_token(client, "repository:acme/private:pull", world.writer.auth)["token"]
    response = client.post("/v2/acme/private/blobs/uploads/", **bearer(token))
    assert response.status_code == 401
    assert error_codes(response) == ["UNAUTHORIZED"]
    challenge = response["WWW-Authenticate"]
    assert challenge == (
        f'Bearer realm="http://testserver/v2/auth",service="{settings.QS_REGISTRY_SERVICE}",'
        'scope="repository:acme/private:pull,push",error="insufficient_scope"'
    )
    again = client.post("/v2/acme/private/blobs/uploads/", **bearer(token))
    assert again.status_code == 403
    assert error_codes(again) == ["DENIED"]
    assert again["WWW-Authenticate"] == challenge
    # Another request (or another token) starts again at 401.
    other = client.post("/v2/acme/private/blobs/uploads/?x=1", **bearer(token))
    assert other.status_code == 401
    refreshed = get_token(client, "repository:acme/private:pull,push", world.writer.auth)["token"]
    assert client.post("/v2/acme/private/blobs/uploads/", **bearer(refreshed)).status_code == 202


def test_it_lets_a_client_that_refreshes_on_401_carry_on_over_the_live_server(live_org):
    """A real token flow on the live server: a client holding a pull token (from a first
    HEAD) that follows the 401 challenge gets push and finishes the upload."""
    import hashlib

    from .live import TokenFlow

    repo = f"{live_org.org}/app"
    flow = TokenFlow(live_org.stack.url, (live_org.robot, live_org.robot_token))
    digest = "sha256:" + hashlib.sha256(b"refresh").hexdigest()
    probe = flow.request("HEAD", f"/v2/{repo}/blobs/{digest}")
    assert probe.status_code == 404
    assert flow.challenges[-1]["scope"] == f"repository:{repo}:pull"
    started = flow.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202
    challenge = flow.challenges[-1]
    assert challenge["error"] == "insufficient_scope"
    assert challenge["scope"] == f"repository:{repo}:pull,push"
    done = flow.request("PUT", f"{started.headers['Location']}?digest={digest}", data=b"refresh")
    assert done.status_code == 201
    assert len(flow.challenges) == 2


def test_it_lets_oras_py_refresh_its_token_after_a_pull_only_start(live_org, tmp_path, monkeypatch):
    """oras-py keeps one token: its push starts with a HEAD (a pull token), and its POST then
    lacks push. It resends once on 401 and refreshes only on 403, which it gets; the web log
    shows the 401, 403, 202 sequence."""
    import oras.client

    repo = f"{live_org.org}/app"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("oras-py refresh\n")
    client = oras.client.OrasClient(hostname=live_org.host, insecure=True)
    client.login(username=live_org.robot, password=live_org.robot_token, hostname=live_org.host)
    before = len(live_org.stack.web_log.read_text())
    response = client.push(target=f"{live_org.host}/{repo}:refresh", files=["notes.txt"])
    assert response.status_code == 201
    posts = [
        line.rsplit('"', 1)[1].split()[0]
        for line in live_org.stack.web_log.read_text()[before:].splitlines()
        if f'"POST /v2/{repo}/blobs/uploads/ ' in line
    ]
    assert posts[:3] == ["401", "403", "202"], posts


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

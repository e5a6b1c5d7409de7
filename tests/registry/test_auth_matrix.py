"""Who may do what: every kind of caller × public, private and missing repository × pull, push.

Each cell is checked with HTTP Basic credentials and again with a bearer token obtained from
``/v2/auth`` for the same caller, as docker would. A private repository the caller may not read
must answer exactly as a missing one does.
"""

from __future__ import annotations

import json

import pytest

from quaysquash.registry import mediatypes

REPOS = {"public": "acme/public", "private": "acme/private", "missing": "acme/missing"}

# caller -> {repo: (pull status, push status)}
EXPECTED = {
    "anonymous": {"public": (200, 401), "private": (401, 401), "missing": (401, 401)},
    "outsider": {"public": (200, 403), "private": (404, 403), "missing": (404, 403)},
    "reader": {"public": (200, 403), "private": (200, 403), "missing": (404, 403)},
    "writer": {"public": (200, 202), "private": (200, 202), "missing": (404, 403)},
    "admin": {"public": (200, 202), "private": (200, 202), "missing": (404, 202)},
    "foreign": {"public": (200, 403), "private": (404, 403), "missing": (404, 403)},
}
CODES = {401: ["UNAUTHORIZED"], 403: ["DENIED"], 404: ["NAME_UNKNOWN"]}


@pytest.fixture
def seeded(registry):
    registry.push_image("acme/public", "v1")
    registry.push_image("acme/private", "v1")
    return registry


def as_bearer(client, who) -> dict[str, str]:
    scopes = [f"repository:{name}:pull,push" for name in REPOS.values()]
    headers = who.headers()
    response = client.get("/v2/auth", {"service": "t", "scope": scopes}, **headers)
    assert response.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


def call(client, headers, action: str, repo: str):
    if action == "pull":
        return client.get(f"/v2/{repo}/manifests/v1", **headers)
    return client.post(f"/v2/{repo}/blobs/uploads/", **headers)


def shape(response, repo: str) -> tuple:
    """Everything a caller can observe, with the repository name abstracted away."""
    body = response.content.decode().replace(repo, "<repo>")
    challenge = response.get("WWW-Authenticate", "").replace(repo, "<repo>")
    return response.status_code, body, challenge


@pytest.mark.parametrize("mode", ["basic", "bearer"])
@pytest.mark.parametrize("caller", sorted(EXPECTED))
def test_it_answers_each_caller_as_the_permission_model_says(seeded, world, client, caller, mode):
    who = getattr(world, caller)
    headers = as_bearer(client, who) if mode == "bearer" else who.headers()
    for repo_kind, (pull_status, push_status) in EXPECTED[caller].items():
        repo = REPOS[repo_kind]
        for action, status in (("pull", pull_status), ("push", push_status)):
            response = call(client, headers, action, repo)
            assert response.status_code == status, (caller, mode, repo_kind, action, response)
            if status in CODES:
                codes = [e["code"] for e in json.loads(response.content)["errors"]]
                assert codes == CODES[status], (caller, repo_kind, action)
            if status == 401:
                challenge = response["WWW-Authenticate"]
                assert challenge.startswith('Bearer realm="http://testserver/v2/auth"')
                assert f'scope="repository:{repo}:' in challenge


@pytest.mark.parametrize("caller", ["anonymous", "outsider", "reader", "foreign"])
def test_it_makes_an_unreadable_private_repository_look_missing(seeded, world, client, caller):
    who = getattr(world, caller)
    if caller == "reader":
        # The reader may read acme/private; use one it has no grant on instead.
        registry = seeded
        registry.push_image("acme/secret", "v1")
        private = "acme/secret"
    else:
        private = "acme/private"
    for headers in (who.headers(), as_bearer(client, who)):
        for action in ("pull", "push"):
            hidden = call(client, headers, action, private)
            missing = call(client, headers, action, "acme/missing")
            assert shape(hidden, private) == shape(missing, "acme/missing"), (caller, action)
            if action == "pull":
                blob = client.get(f"/v2/{private}/blobs/sha256:{'0' * 64}", **headers)
                gone = client.get(f"/v2/acme/missing/blobs/sha256:{'0' * 64}", **headers)
                assert shape(blob, private) == shape(gone, "acme/missing")


def test_it_lets_writers_push_a_whole_image_and_readers_pull_it(world, client):
    from .conftest import Registry

    writer = Registry(client, world.writer)
    digest, raw = writer.push_image("acme/private", "from-robot")
    reader = Registry(client, world.reader)
    response = reader.request("GET", f"/v2/acme/private/manifests/{digest}")
    assert response.status_code == 200 and response.content == raw
    denied = reader.push_manifest("acme/private", "nope", raw, mediatypes.OCI_MANIFEST)
    assert denied.status_code == 403


def test_it_requires_write_to_delete(seeded, world, client):
    from .conftest import Registry

    reader = Registry(client, world.reader)
    assert reader.request("DELETE", "/v2/acme/private/manifests/v1").status_code == 403
    anonymous = Registry(client, world.anonymous)
    assert anonymous.request("DELETE", "/v2/acme/public/manifests/v1").status_code == 401
    writer = Registry(client, world.writer)
    assert writer.request("DELETE", "/v2/acme/private/manifests/v1").status_code == 202

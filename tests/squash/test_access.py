"""Who may pull what, and how refusals look."""

from __future__ import annotations

import io
import tarfile

import requests

from .conftest import PASSWORD


def test_it_asks_for_credentials_on_a_private_repository(site):
    response = requests.get(site.squash_url("acme/tiny", "v1"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_it_rejects_a_wrong_token(site):
    response = requests.get(site.squash_url("acme/tiny", "v1"), auth=(site.robot, "WRONG" * 10))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {
        "errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]
    }


def assert_answered_like_a_missing_repository(site, auth: tuple[str, str]) -> None:
    """acme/tiny, which ``auth`` may not read, gets the very answer of a repository that does
    not exist: a 404 that tells nothing."""
    denied = requests.get(site.squash_url("acme/tiny", "v1"), auth=auth)
    missing = requests.get(site.squash_url("acme/nosuchrepo", "v1"), auth=auth)
    assert denied.status_code == missing.status_code == 404
    assert denied.content == missing.content


def test_it_answers_a_robot_without_read_like_a_missing_repository(site):
    assert_answered_like_a_missing_repository(site, (site.idle_robot, site.idle_token))


def test_it_answers_a_robot_of_another_organization_like_a_missing_repository(site):
    auth = (site.other_robot, site.other_token)
    assert_answered_like_a_missing_repository(site, auth)
    own = requests.get(site.squash_url("other/private", "v1"), auth=auth)
    assert own.status_code == 200


def test_it_serves_a_public_repository_anonymously_and_logs_it(site):
    response = requests.get(site.squash_url("acme/public", "v1"))
    assert response.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        assert "manifest.json" in tar.getnames()
    log = site.pull_logs("acme/public")[-1]
    assert (log["principal"], log["principal_kind"], log["tag"]) == ("anonymous", "anonymous", "v1")


def test_it_accepts_a_users_password(site):
    response = requests.get(site.squash_url("acme/tiny", "v1"), auth=("alice", PASSWORD))
    assert response.status_code == 200
    assert site.pull_logs("acme/tiny")[-1]["principal_kind"] == "user"


def test_it_pulls_by_digest(site):
    tag = requests.get(site.squash_url("acme/tiny", "v1"), auth=site.auth)
    digest = tag.headers["Docker-Content-Digest"]
    by_digest = requests.get(f"{site.url}/c1/squash/acme/tiny@{digest}", auth=site.auth)
    assert by_digest.status_code == 200
    assert by_digest.headers["Docker-Content-Digest"] == digest


def test_it_lists_available_platforms_for_an_unknown_one(site):
    response = requests.get(
        site.squash_url("acme/tiny", "v1", platform="linux/s390x"), auth=site.auth
    )
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert "linux/amd64" in error["message"]
    assert error["detail"]["available"] == ["linux/amd64"]


def test_it_rejects_an_unknown_format(site):
    response = requests.get(site.squash_url("acme/tiny", "v1", format="zip"), auth=site.auth)
    assert response.status_code == 400


def test_it_answers_404_for_an_unknown_tag(site):
    response = requests.get(site.squash_url("acme/tiny", "nope"), auth=site.auth)
    assert response.status_code == 404

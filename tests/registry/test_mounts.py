"""``POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>``: cross-repository mounts
(distribution spec end-11, "Mounting a blob from another repository"), their challenges and
their fallback to an upload session."""

from __future__ import annotations

import os

from quaysquash.registry.models import RepositoryBlob

from .conftest import digest_of

DATA = os.urandom(64 * 1024)


def test_it_mounts_a_blob_from_a_repository_the_caller_may_read(registry, world):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request(
        "POST", f"/v2/acme/public/blobs/uploads/?mount={digest}&from=acme/private"
    )
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/public/blobs/{digest}"
    assert RepositoryBlob.objects.filter(repository=world.public, blob__digest=digest).exists()


def test_it_falls_back_to_a_session_when_the_mount_source_is_not_readable(registry, world):
    from quaysquash.accounts.models import Repository

    Repository.objects.create(namespace=world.acme, name="secret")
    digest = registry.push_blob("acme/secret", DATA)
    other = registry.as_(world.foreign)
    # The foreign robot may write its own repository but not read acme/secret.
    from quaysquash.accounts.models import RepositoryPermission

    RepositoryPermission.objects.create(
        repository=Repository.objects.get(name="thing"),
        robot=world_robot(world, "other", "bot"),
        role="write",
    )
    response = other.request(
        "POST", f"/v2/other/thing/blobs/uploads/?mount={digest}&from=acme/secret"
    )
    assert response.status_code == 202
    missing = registry.request(
        "POST", f"/v2/acme/public/blobs/uploads/?mount={digest_of(b'nope')}&from=acme/secret"
    )
    assert missing.status_code == 202


def world_robot(world, namespace: str, short: str):
    from quaysquash.accounts.models import RobotAccount

    return RobotAccount.objects.get(namespace__name=namespace, short_name=short)


def mount_url(target: str, digest: str, source: str) -> str:
    return f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}"


def test_it_challenges_a_mount_for_pull_on_the_source_and_push_on_the_target(world, client):
    """Distribution spec, "Mounting a blob from another repository": the mount needs the
    source's blob, so the challenge asks for both scopes (space-separated in one ``scope``
    attribute, as the reference registry writes them)."""
    from .conftest import Registry

    digest = Registry(client, world.admin).push_blob("acme/private", DATA)
    response = client.post(mount_url("acme/public", digest, "acme/private"))
    assert response.status_code == 401
    assert (
        'scope="repository:acme/public:pull,push repository:acme/private:pull"'
        in (response["WWW-Authenticate"])
    )
    token = client.get(
        "/v2/auth",
        {
            "service": "t",
            "scope": ["repository:acme/public:pull,push", "repository:acme/private:pull"],
        },
        **world.writer.headers(),
    ).json()["token"]
    mounted = client.post(
        mount_url("acme/public", digest, "acme/private"), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert mounted.status_code == 201
    assert mounted["Location"] == f"/v2/acme/public/blobs/{digest}"


def test_it_challenges_a_token_without_pull_on_a_readable_mount_source(world, client):
    """A token with push on the target only: the principal may read the source, so the answer
    is a challenge for both scopes (following it mounts), not a silent upload session."""
    from .conftest import Registry

    digest = Registry(client, world.admin).push_blob("acme/private", DATA)
    token = client.get(
        "/v2/auth",
        {"service": "t", "scope": "repository:acme/public:pull,push"},
        **world.writer.headers(),
    ).json()["token"]
    response = client.post(
        mount_url("acme/public", digest, "acme/private"), HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 401
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "repository:acme/public:pull,push" in challenge
    assert "repository:acme/private:pull" in challenge
    assert not RepositoryBlob.objects.filter(repository=world.public, blob__digest=digest).exists()


def test_it_falls_back_to_a_session_for_a_token_holder_who_cannot_read_the_source(world, client):
    """A source the principal may not read (or that does not exist) is not worth a challenge:
    the spec's fallback, a 202 session, and no hint that the source exists."""
    from quaysquash.accounts.models import Repository, RepositoryPermission

    from .conftest import Registry

    secret = Repository.objects.create(namespace=world.acme, name="secret")
    digest = Registry(client, world.admin).push_blob("acme/secret", DATA)
    RepositoryPermission.objects.filter(repository=secret).delete()
    token = client.get(
        "/v2/auth",
        {
            "service": "t",
            "scope": ["repository:acme/public:pull,push", "repository:acme/secret:pull"],
        },
        **world.writer.headers(),
    ).json()["token"]
    for source in ("acme/secret", "acme/nothing"):
        response = client.post(
            mount_url("acme/public", digest, source), HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == 202, source
        assert "WWW-Authenticate" not in response


def test_it_mounts_after_following_the_challenge_over_the_live_server(live_org):
    """A real token flow: a client that follows challenges (as containerd and oras-go do) gets
    201 mounts, both from no token and from a token scoped to the target only."""
    from .live import TokenFlow

    source, target = f"{live_org.org}/app", f"{live_org.org}/mount-target"
    digest = live_org.push_blob(source, DATA)
    fresh = TokenFlow(live_org.stack.url, live_org.basic())
    response = fresh.request("POST", mount_url(target, digest, source))
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"/v2/{target}/blobs/{digest}"
    assert fresh.challenges[0]["scope"].split() == [
        f"repository:{target}:pull,push",
        f"repository:{source}:pull",
    ]
    other = f"{live_org.org}/mount-other"
    narrow = TokenFlow(live_org.stack.url, live_org.basic())
    service = fresh.challenges[0]["service"]
    narrow.token = narrow.fetch_token(
        [f"repository:{other}:pull,push"], live_org.url("/v2/auth"), service
    )
    response = narrow.request("POST", mount_url(other, digest, source))
    assert response.status_code == 201, response.text
    [challenge] = narrow.challenges
    assert challenge["error"] == "insufficient_scope"
    assert f"repository:{source}:pull" in challenge["scope"].split()

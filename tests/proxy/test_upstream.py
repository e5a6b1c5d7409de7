"""The upstream client against real registries on loopback: anonymous and htpasswd Basic
docker-registry, a quaysquash speaking bearer tokens, and a registry that sends bad bytes."""

from __future__ import annotations

import hashlib

import pytest

from quaysquash.proxy import upstream
from quaysquash.proxy.upstream import UpstreamClient, UpstreamConfig
from tests.support.tools import free_port

from .conftest import DEBIAN_APP_DIGEST, UP_ORG, UPSTREAM_PASSWORD, UPSTREAM_USER
from .fakeupstream import LAYER, digest_of

LIMIT = 4 * 1024 * 1024
REPO = "library/debian-app"


def client(url: str, username: str = "", password: str = "") -> UpstreamClient:
    return UpstreamClient(UpstreamConfig(url=url, username=username, password=password, timeout=10))


def read_whole_image(c: UpstreamClient, repo: str, tag: str) -> str:
    got = c.get_manifest(repo, tag, LIMIT)
    import json

    doc = json.loads(got.raw)
    for desc in [doc["config"], *doc["layers"]]:
        hasher = hashlib.sha256()
        for chunk in c.blob_chunks(repo, desc["digest"], desc["size"], 1 << 40):
            hasher.update(chunk)
        assert "sha256:" + hasher.hexdigest() == desc["digest"]
    return got.digest


def test_it_parses_bearer_and_basic_challenges():
    scheme, params = upstream.parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:library/nginx:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:library/nginx:pull",
    }
    assert upstream.parse_challenge('Basic realm="test"') == ("basic", {"realm": "test"})


def test_it_reads_a_whole_image_from_an_anonymous_registry(anon_upstream):
    c = client(anon_upstream.url)
    assert read_whole_image(c, REPO, "v1") == DEBIAN_APP_DIGEST
    assert c.head_manifest(REPO, "v1") == DEBIAN_APP_DIGEST
    assert c.get_manifest(REPO, DEBIAN_APP_DIGEST, LIMIT).digest == DEBIAN_APP_DIGEST


def test_it_answers_a_basic_challenge_with_the_credentials(basic_upstream):
    c = client(basic_upstream.url, UPSTREAM_USER, UPSTREAM_PASSWORD)
    assert read_whole_image(c, REPO, "v1") == DEBIAN_APP_DIGEST


def test_it_reports_wrong_or_missing_basic_credentials(basic_upstream):
    with pytest.raises(upstream.UpstreamAuthFailed, match="refused the credentials"):
        client(basic_upstream.url, UPSTREAM_USER, "wrong").head_manifest(REPO, "v1")
    with pytest.raises(upstream.UpstreamAuthFailed, match="requires credentials"):
        client(basic_upstream.url).head_manifest(REPO, "v1")


def test_it_gets_a_bearer_token_with_credentials_for_a_private_repository(quay_upstream):
    c = client(quay_upstream.url, quay_upstream.robot, quay_upstream.token)
    assert read_whole_image(c, f"{UP_ORG}/app", "v1") == DEBIAN_APP_DIGEST
    assert list(c._tokens) == [f"repository:{UP_ORG}/app:pull"]


def test_it_gets_an_anonymous_bearer_token_for_a_public_repository(quay_upstream):
    c = client(quay_upstream.url)
    assert c.head_manifest(f"{UP_ORG}/pub", "v1") == DEBIAN_APP_DIGEST
    # Without credentials the private repository is out of reach.
    with pytest.raises(upstream.UpstreamAuthFailed):
        c.get_manifest(f"{UP_ORG}/app", "v1", LIMIT)


def test_it_reports_wrong_bearer_credentials(quay_upstream):
    c = client(quay_upstream.url, quay_upstream.robot, "WRONG" * 8)
    with pytest.raises(upstream.UpstreamAuthFailed, match="refused the credentials") as info:
        c.head_manifest(f"{UP_ORG}/app", "v1")
    assert "WRONG" not in str(info.value)


def test_it_reports_a_missing_tag_as_not_found(anon_upstream):
    with pytest.raises(upstream.UpstreamNotFound):
        client(anon_upstream.url).get_manifest(REPO, "no-such-tag", LIMIT)


def test_it_reports_an_unreachable_upstream_as_unavailable():
    with pytest.raises(upstream.UpstreamUnavailable, match="unreachable"):
        client(f"http://127.0.0.1:{free_port()}").head_manifest(REPO, "v1")


def test_it_refuses_a_manifest_over_the_limit(anon_upstream, fake):
    with pytest.raises(upstream.UpstreamTooLarge):
        client(anon_upstream.url).get_manifest(REPO, "v1", 100)
    with pytest.raises(upstream.UpstreamTooLarge):
        client(fake.url).get_manifest("big/manifest", "v1", LIMIT)


def test_it_stops_a_blob_over_the_limit(anon_upstream):
    c = client(anon_upstream.url)
    import json

    layer = json.loads(c.get_manifest(REPO, "v1", LIMIT).raw)["layers"][0]
    with pytest.raises(upstream.UpstreamTooLarge):
        list(c.blob_chunks(REPO, layer["digest"], layer["size"], 1024))
    # Without a size to compare with, the limit stops it while streaming.
    with pytest.raises(upstream.UpstreamTooLarge):
        list(c.blob_chunks(REPO, layer["digest"], None, 1024))


def test_it_detects_a_manifest_whose_bytes_are_not_its_digest(fake):
    with pytest.raises(upstream.UpstreamDigestMismatch, match="announced"):
        client(fake.url).get_manifest("bad/manifest", "v1", LIMIT)
    good = client(fake.url).get_manifest("good/image", "v1", LIMIT)
    wrong = "sha256:" + "0" * 64
    fake_answer = fake.answer

    def serve_good_bytes_for_any_digest(path: str):
        return fake_answer(path.replace(wrong, "v1"))

    fake.answer = serve_good_bytes_for_any_digest
    with pytest.raises(upstream.UpstreamDigestMismatch):
        client(fake.url).get_manifest("good/image", wrong, LIMIT)
    assert good.digest != wrong


def test_it_reports_a_blob_shorter_than_announced(fake):
    with pytest.raises(upstream.UpstreamInvalid, match="not the"):
        list(client(fake.url).blob_chunks("good/image", digest_of(LAYER), len(LAYER) + 5, LIMIT))


def test_it_keeps_the_password_out_of_repr():
    c = client("https://registry.example", "user", "hunter2-secret")
    assert "hunter2" not in repr(c) and "hunter2" not in repr(c.config)

"""``/v2/<name>/manifests/<reference>``: push, fetch and delete by tag and digest."""

from __future__ import annotations

import hashlib
import json

from quaysquash.accounts.models import Repository
from quaysquash.registry import mediatypes
from quaysquash.registry.models import Manifest, Tag
from quaysquash.registry.signals import tag_pushed

from .conftest import digest_of, error_codes, image_manifest


def test_it_stores_manifests_byte_for_byte_and_serves_them_by_tag_and_digest(registry):
    digest, raw = registry.push_image("acme/private", "v1")
    assert digest == digest_of(raw)
    for reference in ("v1", digest):
        response = registry.request("GET", f"/v2/acme/private/manifests/{reference}")
        assert response.status_code == 200
        assert response.content == raw
        assert response["Content-Type"] == mediatypes.OCI_MANIFEST
        assert response["Docker-Content-Digest"] == digest
        assert response["Content-Length"] == str(len(raw))
        assert response["ETag"] == f'"{digest}"'


def test_it_answers_head_with_headers_only(registry):
    digest, raw = registry.push_image("acme/private", "v1")
    response = registry.request("HEAD", "/v2/acme/private/manifests/v1")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(raw))
    assert response["Docker-Content-Digest"] == digest


def test_it_answers_put_with_location_and_digest(registry):
    raw = image_manifest(registry, "acme/private", "a")
    response = registry.push_manifest("acme/private", "v1", raw, mediatypes.OCI_MANIFEST)
    assert response.status_code == 201
    digest = digest_of(raw)
    assert response["Docker-Content-Digest"] == digest
    assert response["Location"] == f"/v2/acme/private/manifests/{digest}"


def test_it_accepts_a_push_by_digest_and_refuses_a_mismatched_one(registry):
    raw = image_manifest(registry, "acme/private", "a")
    ok = registry.push_manifest("acme/private", digest_of(raw), raw, mediatypes.OCI_MANIFEST)
    assert ok.status_code == 201
    wrong = registry.push_manifest(
        "acme/private", digest_of(b"other"), raw, mediatypes.OCI_MANIFEST
    )
    assert wrong.status_code == 400
    assert error_codes(wrong) == ["DIGEST_INVALID"]


def test_it_keeps_docker_schema2_manifests_and_lists(registry):
    layer_digest = registry.push_blob("acme/private", b"layer")
    config_digest = registry.push_blob("acme/private", b"{}")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.DOCKER_MANIFEST,
            "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": config_digest, "size": 2},
            "layers": [
                {"mediaType": mediatypes.DOCKER_LAYER_GZIP, "digest": layer_digest, "size": 5}
            ],
        }
    ).encode()
    put = registry.push_manifest("acme/private", "docker", manifest, mediatypes.DOCKER_MANIFEST)
    assert put.status_code == 201
    manifest_list = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.DOCKER_MANIFEST_LIST,
            "manifests": [
                {
                    "mediaType": mediatypes.DOCKER_MANIFEST,
                    "digest": digest_of(manifest),
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    ).encode()
    put = registry.push_manifest(
        "acme/private", "list", manifest_list, mediatypes.DOCKER_MANIFEST_LIST
    )
    assert put.status_code == 201
    response = registry.request("GET", "/v2/acme/private/manifests/list")
    assert response["Content-Type"] == mediatypes.DOCKER_MANIFEST_LIST
    assert response.content == manifest_list


def test_it_refuses_manifests_referencing_unknown_blobs(registry):
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": digest_of(b"missing"),
                "size": 7,
            },
            "layers": [],
        }
    ).encode()
    response = registry.push_manifest("acme/private", "v1", raw, mediatypes.OCI_MANIFEST)
    assert response.status_code == 400
    assert error_codes(response) == ["MANIFEST_BLOB_UNKNOWN"]
    # A blob of another repository is unknown here too.
    other = registry.push_blob("acme/public", b"missing")
    assert other == digest_of(b"missing")
    response = registry.push_manifest("acme/private", "v1", raw, mediatypes.OCI_MANIFEST)
    assert error_codes(response) == ["MANIFEST_BLOB_UNKNOWN"]


def test_it_refuses_an_index_with_unknown_children(registry):
    """Distribution spec, "Push": a manifest rejected because a descriptor names a manifest or
    blob the registry does not have "MUST result in one or more MANIFEST_BLOB_UNKNOWN
    errors" -- an index's children included."""
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [
                {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest_of(b"x"), "size": 1}
            ],
        }
    ).encode()
    response = registry.push_manifest("acme/private", "multi", raw, mediatypes.OCI_INDEX)
    assert response.status_code == 400
    assert error_codes(response) == ["MANIFEST_BLOB_UNKNOWN"]


def test_it_refuses_invalid_manifests(registry):
    for raw, content_type in (
        (b"not json", mediatypes.OCI_MANIFEST),
        (b"[]", mediatypes.OCI_MANIFEST),
        (json.dumps({"schemaVersion": 1, "mediaType": mediatypes.OCI_MANIFEST}).encode(), ""),
        (json.dumps({"schemaVersion": 2, "mediaType": "text/plain"}).encode(), "text/plain"),
        (json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST}).encode(), ""),
    ):
        response = registry.push_manifest("acme/private", "v1", raw, content_type)
        assert response.status_code == 400, raw
        assert error_codes(response) == ["MANIFEST_INVALID"]


def test_it_refuses_manifests_over_4_mib(registry):
    raw = b'{"schemaVersion":2,"pad":"' + b"x" * (4 * 1024 * 1024) + b'"}'
    response = registry.push_manifest("acme/private", "big", raw, mediatypes.OCI_MANIFEST)
    assert response.status_code == 413
    assert error_codes(response) == ["MANIFEST_INVALID"]


def test_it_refuses_invalid_tag_names(registry):
    raw = image_manifest(registry, "acme/private", "a")
    for tag in ("-leading-dash", ".dot", "x" * 129, "sp%20ace"):
        response = registry.push_manifest("acme/private", tag, raw, mediatypes.OCI_MANIFEST)
        assert response.status_code == 400, tag
        assert error_codes(response) == ["TAG_INVALID"]
    response = registry.request("DELETE", "/v2/acme/private/manifests/-bad")
    assert response.status_code == 400
    assert error_codes(response) == ["TAG_INVALID"]


MALFORMED = (".INVALID", "-bad", "x" * 129, "sp%20ace", "sha256:not+hex", "Sha256:ab")


def test_it_answers_manifest_unknown_to_reads_of_a_malformed_reference(registry):
    """Distribution spec, "Pulling manifests": a reference MUST be a digest or a tag, and a
    manifest not found MUST be a 404 (end-3 fails only with 404) -- the reference registry's
    answer to ``GET .../manifests/.INVALID``. Writes still refuse such a reference (400)."""
    registry.push_image("acme/private", "v1")
    for reference in MALFORMED:
        got = registry.request("GET", f"/v2/acme/private/manifests/{reference}")
        assert got.status_code == 404, reference
        assert error_codes(got) == ["MANIFEST_UNKNOWN"], reference
        head = registry.request("HEAD", f"/v2/acme/private/manifests/{reference}")
        assert head.status_code == 404 and head.content == b"", reference
    raw = image_manifest(registry, "acme/private", "a")
    put = registry.push_manifest("acme/private", ".INVALID", raw, mediatypes.OCI_MANIFEST)
    assert put.status_code == 400 and error_codes(put) == ["TAG_INVALID"]
    delete = registry.request("DELETE", "/v2/acme/private/manifests/.INVALID")
    assert delete.status_code == 400 and error_codes(delete) == ["TAG_INVALID"]
    bad_digest = registry.request("DELETE", "/v2/acme/private/manifests/sha256:short")
    assert bad_digest.status_code == 400 and error_codes(bad_digest) == ["DIGEST_INVALID"]


def test_it_answers_manifest_unknown_to_malformed_references_on_the_live_server(live_org):
    import requests

    repo = f"{live_org.org}/app"
    for method in ("GET", "HEAD"):
        response = requests.request(
            method,
            live_org.url(f"/v2/{repo}/manifests/.INVALID"),
            auth=live_org.basic(),
            timeout=30,
        )
        assert response.status_code == 404, method
        if method == "GET":
            assert error_codes(response) == ["MANIFEST_UNKNOWN"]
    put = live_org.push_manifest(repo, ".INVALID", live_org.image(repo, "x"))
    assert put.status_code == 400 and error_codes(put) == ["TAG_INVALID"]


def test_it_answers_manifest_unknown_for_missing_references(registry):
    registry.push_image("acme/private", "v1")
    for reference in ("nope", digest_of(b"nope")):
        response = registry.request("GET", f"/v2/acme/private/manifests/{reference}")
        assert response.status_code == 404
        assert error_codes(response) == ["MANIFEST_UNKNOWN"]


def test_it_keeps_tag_history_when_a_tag_moves(registry, world):
    first, _ = registry.push_image("acme/private", "latest", seed="1")
    second, _ = registry.push_image("acme/private", "latest", seed="2")
    rows = list(Tag.objects.filter(repository=world.private, name="latest").order_by("pk"))
    assert [r.manifest.digest for r in rows] == [first, second]
    assert rows[0].lifetime_end is not None and rows[1].lifetime_end is None
    response = registry.request("GET", "/v2/acme/private/manifests/latest")
    assert response["Docker-Content-Digest"] == second


def test_it_sends_tag_pushed_after_a_tag_is_written(registry, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, tag, **kwargs):
        received.append((tag.repository.full_name, tag.name, tag.manifest.digest))

    tag_pushed.connect(receiver)
    try:
        # Sent on commit; the test transaction never commits: run the callbacks at the end.
        with django_capture_on_commit_callbacks(execute=True):
            digest, raw = registry.push_image("acme/private", "v1")
            registry.push_manifest("acme/private", digest, raw, mediatypes.OCI_MANIFEST)
            registry.push_manifest("acme/private", "v1", raw, mediatypes.OCI_MANIFEST)  # same
            other, _ = registry.push_image("acme/private", "v1", seed="moved")
    finally:
        tag_pushed.disconnect(receiver)
    # Not for the push by digest, nor for a tag pushed again unchanged.
    assert received == [("acme/private", "v1", digest), ("acme/private", "v1", other)]


def test_it_untags_when_a_manifest_is_deleted_by_digest(registry, world):
    digest, raw = registry.push_image("acme/private", "v1")
    registry.push_manifest("acme/private", "v2", raw, mediatypes.OCI_MANIFEST)
    response = registry.request("DELETE", f"/v2/acme/private/manifests/{digest}")
    assert response.status_code == 202
    for reference in ("v1", "v2", digest):
        gone = registry.request("GET", f"/v2/acme/private/manifests/{reference}")
        assert gone.status_code == 404
        assert error_codes(gone) == ["MANIFEST_UNKNOWN"]
    assert registry.request("GET", "/v2/acme/private/tags/list").json()["tags"] == []
    # History survives: the ended rows still say what the tags pointed at.
    assert Tag.objects.filter(repository=world.private, lifetime_end__isnull=False).count() == 2
    again = registry.request("DELETE", f"/v2/acme/private/manifests/{digest}")
    assert again.status_code == 404
    # Pushing the same bytes again brings the manifest back.
    assert (
        registry.push_manifest("acme/private", "v3", raw, mediatypes.OCI_MANIFEST).status_code
        == 201
    )
    assert Manifest.objects.filter(digest=digest).exists()


def test_it_deletes_a_tag_by_name(registry):
    digest, raw = registry.push_image("acme/private", "v1")
    registry.push_manifest("acme/private", "v2", raw, mediatypes.OCI_MANIFEST)
    assert registry.request("DELETE", "/v2/acme/private/manifests/v1").status_code == 202
    assert registry.request("GET", "/v2/acme/private/manifests/v1").status_code == 404
    assert registry.request("GET", "/v2/acme/private/manifests/v2").status_code == 200
    missing = registry.request("DELETE", "/v2/acme/private/manifests/v1")
    assert error_codes(missing) == ["MANIFEST_UNKNOWN"]


def test_it_creates_a_private_repository_on_first_push_by_an_org_admin(registry, world):
    registry.push_image("acme/team/new-app", "v1")
    repo = Repository.objects.get(namespace=world.acme, name="team/new-app")
    assert repo.is_public is False


def test_it_refuses_to_create_repositories_for_robots_and_unknown_namespaces(registry, world):
    writer = registry.as_(world.writer)
    response = writer.request("POST", "/v2/acme/robot-made/blobs/uploads/")
    assert response.status_code == 403
    assert error_codes(response) == ["DENIED"]
    response = registry.request("POST", "/v2/nowhere/app/blobs/uploads/")
    assert response.status_code == 403
    assert error_codes(response) == ["DENIED"]
    assert not Repository.objects.filter(name__in=["robot-made", "app"]).exists()


def test_it_lets_users_push_into_their_own_namespace(registry, world):
    from tests.factories import PASSWORD
    from tests.support.basic_auth import basic

    from .conftest import Who

    bob = registry.as_(Who("bob", basic("bob", PASSWORD)))
    bob.push_image("bob/tools", "v1")
    assert Repository.objects.filter(namespace__name="bob", name="tools").exists()


def sha512_of(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def test_it_stores_and_serves_a_manifest_pushed_by_a_sha512_digest(registry):
    """Distribution spec, "Pushing Manifests": "The Docker-Content-Digest header returns the
    canonical digest of the uploaded blob, and MUST be equal to the client provided digest"
    -- a sha512 one too; the manifest is then read and deleted under it."""
    layer = registry.request(
        "POST", f"/v2/acme/private/blobs/uploads/?digest={sha512_of(b'layer')}", b"layer"
    )
    config = registry.request(
        "POST", f"/v2/acme/private/blobs/uploads/?digest={sha512_of(b'{}')}", b"{}"
    )
    assert layer.status_code == config.status_code == 201
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": sha512_of(b"{}"), "size": 2},
            "layers": [
                {"mediaType": mediatypes.OCI_LAYER, "digest": sha512_of(b"layer"), "size": 5}
            ],
        }
    ).encode()
    digest = sha512_of(raw)
    put = registry.push_manifest("acme/private", digest, raw, mediatypes.OCI_MANIFEST)
    assert put.status_code == 201
    assert put["Docker-Content-Digest"] == digest
    assert put["Location"] == f"/v2/acme/private/manifests/{digest}"
    for method in ("GET", "HEAD"):
        got = registry.request(method, f"/v2/acme/private/manifests/{digest}")
        assert got.status_code == 200 and got["Docker-Content-Digest"] == digest
    assert registry.request("GET", f"/v2/acme/private/manifests/{digest}").content == raw
    wrong = registry.push_manifest(
        "acme/private", sha512_of(b"other"), raw, mediatypes.OCI_MANIFEST
    )
    assert wrong.status_code == 400 and error_codes(wrong) == ["DIGEST_INVALID"]
    assert registry.request("DELETE", f"/v2/acme/private/manifests/{digest}").status_code == 202
    gone = registry.request("GET", f"/v2/acme/private/manifests/{digest}")
    assert gone.status_code == 404 and error_codes(gone) == ["MANIFEST_UNKNOWN"]


def test_it_serves_a_manifest_pushed_by_a_sha512_digest_on_the_live_server(live_org):
    import requests

    repo = f"{live_org.org}/app"
    doc = live_org.image(repo, "sha512", "sha512")
    raw = json.dumps(doc).encode()
    digest = sha512_of(raw)
    put = live_org.push_manifest(repo, digest, doc)
    assert put.status_code == 201 and put.headers["Docker-Content-Digest"] == digest
    got = requests.get(
        live_org.url(f"/v2/{repo}/manifests/{digest}"),
        headers={"Accept": mediatypes.OCI_MANIFEST},
        auth=live_org.basic(),
        timeout=30,
    )
    assert got.status_code == 200 and got.content == raw
    assert got.headers["Docker-Content-Digest"] == digest


def test_it_answers_404_to_a_delete_in_a_repository_that_does_not_exist(registry, world):
    """Distribution spec, "Deleting Manifests": "If the repository does not exist, the
    response MUST return 404 Not Found"; a private repository the caller may not read answers
    the same, and one it may read but not write is a 403."""
    digest, _ = registry.push_image("acme/private", "v1")
    outsider = registry.as_(world.outsider)
    hidden = outsider.request("DELETE", f"/v2/acme/private/manifests/{digest}")
    missing = outsider.request("DELETE", f"/v2/acme/missing/manifests/{digest}")
    assert hidden.status_code == missing.status_code == 404
    assert error_codes(hidden) == error_codes(missing) == ["NAME_UNKNOWN"]
    assert hidden.content.replace(b"private", b"missing") == missing.content
    blob = outsider.request("DELETE", f"/v2/acme/missing/blobs/{digest_of(b'x')}")
    assert blob.status_code == 404
    reader = registry.as_(world.reader).request("DELETE", "/v2/acme/private/manifests/v1")
    assert reader.status_code == 403 and error_codes(reader) == ["DENIED"]
    public = outsider.request("DELETE", "/v2/acme/public/manifests/v1")
    assert public.status_code == 403

"""``/v2/<name>/referrers/<digest>`` and the ``OCI-Subject`` header (OCI distribution 1.1)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from quaysquash.registry import mediatypes

from .conftest import digest_of, error_codes

EMPTY = b"{}"


def push_referrer(registry, repo: str, subject: str, artifact_type: str, note: str):
    config = registry.push_blob(repo, EMPTY)
    layer = registry.push_blob(repo, note.encode())
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": mediatypes.OCI_EMPTY, "digest": config, "size": 2},
            "layers": [{"mediaType": "text/plain", "digest": layer, "size": len(note.encode())}],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": subject, "size": 1},
            "annotations": {"note": note},
        }
    ).encode()
    return registry.push_manifest(repo, digest_of(raw), raw, mediatypes.OCI_MANIFEST), raw


def test_it_answers_oci_subject_when_a_manifest_has_a_subject(registry):
    subject, _ = registry.push_image("acme/private", "v1")
    response, _ = push_referrer(registry, "acme/private", subject, "application/x.sbom", "s")
    assert response.status_code == 201
    assert response["OCI-Subject"] == subject


def test_it_lists_referrers_with_their_artifact_type_and_annotations(registry):
    subject, _ = registry.push_image("acme/private", "v1")
    _, sbom = push_referrer(registry, "acme/private", subject, "application/x.sbom", "one")
    _, sig = push_referrer(registry, "acme/private", subject, "application/x.sig", "two")
    response = registry.request("GET", f"/v2/acme/private/referrers/{subject}")
    assert response.status_code == 200
    assert response["Content-Type"] == mediatypes.OCI_INDEX
    index = response.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == mediatypes.OCI_INDEX
    assert index["manifests"] == [
        {
            "mediaType": mediatypes.OCI_MANIFEST,
            "digest": digest_of(sbom),
            "size": len(sbom),
            "artifactType": "application/x.sbom",
            "annotations": {"note": "one"},
        },
        {
            "mediaType": mediatypes.OCI_MANIFEST,
            "digest": digest_of(sig),
            "size": len(sig),
            "artifactType": "application/x.sig",
            "annotations": {"note": "two"},
        },
    ]


def test_it_filters_referrers_by_artifact_type(registry):
    subject, _ = registry.push_image("acme/private", "v1")
    push_referrer(registry, "acme/private", subject, "application/x.sbom", "one")
    push_referrer(registry, "acme/private", subject, "application/x.sig", "two")
    response = registry.request(
        "GET", f"/v2/acme/private/referrers/{subject}?artifactType=application/x.sig"
    )
    assert response["OCI-Filters-Applied"] == "artifactType"
    assert [m["artifactType"] for m in response.json()["manifests"]] == ["application/x.sig"]


def test_it_accepts_referrers_to_a_subject_not_pushed_yet(registry):
    subject = digest_of(b"later")
    response, _ = push_referrer(registry, "acme/private", subject, "application/x.sbom", "x")
    assert response.status_code == 201
    listed = registry.request("GET", f"/v2/acme/private/referrers/{subject}").json()
    assert len(listed["manifests"]) == 1


def test_it_answers_an_empty_index_when_nothing_refers_to_a_digest(registry):
    response = registry.request("GET", f"/v2/acme/private/referrers/{digest_of(b'none')}")
    assert response.status_code == 200
    assert response.json()["manifests"] == []


def test_it_refuses_an_invalid_referrers_digest(registry):
    response = registry.request("GET", "/v2/acme/private/referrers/sha256:nothex")
    assert response.status_code == 400
    assert error_codes(response) == ["DIGEST_INVALID"]


def push_image_referrer(registry, repo: str, subject: str, config_type: str, seed: str):
    """An image manifest with a ``subject`` and no ``artifactType`` (as cosign writes them)."""
    config = registry.push_blob(repo, f'{{"seed": "{seed}"}}'.encode())
    layer = registry.push_blob(repo, seed.encode())
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": config, "size": 14 + len(seed)},
            "layers": [{"mediaType": "text/plain", "digest": layer, "size": len(seed)}],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": subject, "size": 1},
        }
    ).encode()
    response = registry.push_manifest(repo, digest_of(raw), raw, mediatypes.OCI_MANIFEST)
    assert response.status_code == 201, response.content
    return digest_of(raw)


def test_it_lists_an_image_manifest_without_artifact_type_under_its_config_media_type(registry):
    """Distribution spec, "Listing Referrers": "If the artifactType is empty or missing in the
    image manifest, the value of artifactType MUST be set to the config descriptor mediaType
    value" -- the standard image config types included."""
    subject, _ = registry.push_image("acme/private", "v1")
    oci = push_image_referrer(registry, "acme/private", subject, mediatypes.OCI_CONFIG, "a")
    docker = push_image_referrer(registry, "acme/private", subject, mediatypes.DOCKER_CONFIG, "b")
    listed = registry.request("GET", f"/v2/acme/private/referrers/{subject}").json()["manifests"]
    assert [(m["digest"], m["artifactType"]) for m in listed] == [
        (oci, mediatypes.OCI_CONFIG),
        (docker, mediatypes.DOCKER_CONFIG),
    ]
    # Encoded as clients do, and with the '+' left raw as in a hand-typed curl URL.
    for value in (quote(mediatypes.OCI_CONFIG, safe=""), mediatypes.OCI_CONFIG):
        filtered = registry.request(
            "GET", f"/v2/acme/private/referrers/{subject}?artifactType={value}"
        )
        assert filtered["OCI-Filters-Applied"] == "artifactType"
        assert [m["digest"] for m in filtered.json()["manifests"]] == [oci], value


def test_it_lists_rows_stored_before_the_fallback_under_their_config_media_type(registry):
    """Rows written when the fallback skipped image configs have an empty artifact_type; the
    listing and the filter still use the config's mediaType (same spec rule)."""
    from quaysquash.registry.models import Manifest

    subject, _ = registry.push_image("acme/private", "v1")
    digest = push_image_referrer(registry, "acme/private", subject, mediatypes.OCI_CONFIG, "a")
    Manifest.objects.filter(digest=digest).update(artifact_type="")
    response = registry.request(
        "GET", f"/v2/acme/private/referrers/{subject}?artifactType={mediatypes.OCI_CONFIG}"
    )
    assert [(m["digest"], m["artifactType"]) for m in response.json()["manifests"]] == [
        (digest, mediatypes.OCI_CONFIG)
    ]
    other = registry.request(
        "GET", f"/v2/acme/private/referrers/{subject}?artifactType=application/x.other"
    )
    assert other.json()["manifests"] == []


def test_it_omits_the_artifact_type_of_an_index_without_one(registry):
    """Distribution spec, "Listing Referrers": for an index without artifactType, "the
    artifactType MUST be omitted"."""
    subject, _ = registry.push_image("acme/private", "v1")
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": subject, "size": 1},
        }
    ).encode()
    assert (
        registry.push_manifest("acme/private", "idx", raw, mediatypes.OCI_INDEX).status_code == 201
    )
    listed = registry.request("GET", f"/v2/acme/private/referrers/{subject}").json()["manifests"]
    assert listed == [
        {"mediaType": mediatypes.OCI_INDEX, "digest": digest_of(raw), "size": len(raw)}
    ]


def test_it_answers_an_empty_index_for_a_missing_repository_as_for_a_hidden_one(world, client):
    """Distribution spec, "Listing Referrers": a registry with the API "MUST NOT return a 404
    Not Found to a referrers API request" (clients would fall back to the tag schema). A
    repository that does not exist has no referrers; a private one the caller may not read
    answers byte for byte the same, and anonymous callers get the 401 challenge for both."""
    from .conftest import Registry

    subject = digest_of(b"anything")
    admin = Registry(client, world.admin)
    admin.push_image("acme/private", "v1")
    push_referrer(admin, "acme/private", subject, "application/x.sbom", "secret")
    outsider = Registry(client, world.outsider)
    for query in ("", "?artifactType=application/x.sbom"):
        hidden = outsider.request("GET", f"/v2/acme/private/referrers/{subject}{query}")
        missing = outsider.request("GET", f"/v2/acme/missing/referrers/{subject}{query}")
        assert hidden.status_code == missing.status_code == 200
        assert hidden.content == missing.content
        assert sorted(hidden.items()) == sorted(missing.items())
        assert hidden["Content-Type"] == mediatypes.OCI_INDEX
        assert hidden.json() == {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [],
        }
    nobody = Registry(client, world.anonymous)
    hidden = nobody.request("GET", f"/v2/acme/private/referrers/{subject}")
    missing = nobody.request("GET", f"/v2/acme/missing/referrers/{subject}")
    assert hidden.status_code == missing.status_code == 401
    assert hidden.content.replace(b"private", b"missing") == missing.content
    assert hidden["WWW-Authenticate"].replace("private", "missing") == missing["WWW-Authenticate"]
    # An invalid digest is a 400 whatever the repository (same section).
    invalid = outsider.request("GET", "/v2/acme/missing/referrers/sha256:nothex")
    assert invalid.status_code == 400
    assert error_codes(invalid) == ["DIGEST_INVALID"]


def test_it_lists_an_attachment_pushed_by_oras_under_its_config_type_on_the_live_server(
    live_org, tmp_path, monkeypatch
):
    """The live server: oras-py pushes an attachment (subject, image config, no
    artifactType) to a private repository; the referrers API lists and filters it by the
    config's mediaType (distribution spec, "Listing Referrers")."""
    import oras.client
    import oras.oci
    import requests

    repo = f"{live_org.org}/app"
    subject_doc = live_org.image(repo, "subject")
    put = live_org.push_manifest(repo, "v1", subject_doc)
    assert put.status_code == 201, put.text
    subject = put.headers["Docker-Content-Digest"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sig.txt").write_text("signature\n")
    (tmp_path / "config.json").write_text('{"architecture": "amd64", "os": "linux"}')
    client = oras.client.OrasClient(hostname=live_org.host, insecure=True)
    client.login(username=live_org.robot, password=live_org.robot_token, hostname=live_org.host)
    pushed = client.push(
        target=f"{live_org.host}/{repo}:sig",
        files=["sig.txt"],
        manifest_config=f"config.json:{mediatypes.OCI_CONFIG}",
        subject=oras.oci.Subject(mediatypes.OCI_MANIFEST, subject, len(json.dumps(subject_doc))),
    )
    assert pushed.status_code == 201
    assert pushed.headers["OCI-Subject"] == subject
    response = requests.get(
        live_org.url(f"/v2/{repo}/referrers/{subject}?artifactType={mediatypes.OCI_CONFIG}"),
        auth=live_org.basic(),
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == mediatypes.OCI_INDEX
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    [listed] = response.json()["manifests"]
    assert listed["digest"] == pushed.headers["Docker-Content-Digest"]
    assert listed["artifactType"] == mediatypes.OCI_CONFIG


def test_it_answers_an_empty_index_for_a_missing_repository_on_the_live_server(live_org):
    """Distribution spec, "Listing Referrers" (MUST NOT 404), over real HTTP."""
    import requests

    subject = digest_of(b"nothing")
    for repo in (f"{live_org.org}/never-pushed", "other-org/anything"):
        response = requests.get(
            live_org.url(f"/v2/{repo}/referrers/{subject}"), auth=live_org.basic(), timeout=30
        )
        assert response.status_code == 200, repo
        assert response.headers["Content-Type"] == mediatypes.OCI_INDEX
        assert response.json()["manifests"] == []


def test_it_lists_referrers_of_a_sha512_subject(registry):
    """Distribution spec, "Listing Referrers" with a sha512 ``<digest>`` (OCI image spec,
    "Digests"): the referrer, pushed by its own sha512 digest, is listed under that digest."""
    subject = "sha512:" + hashlib.sha512(b"subject").hexdigest()
    config = registry.push_blob("acme/private", EMPTY)
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "artifactType": "application/x.sbom",
            "config": {"mediaType": mediatypes.OCI_EMPTY, "digest": config, "size": 2},
            "layers": [],
            "subject": {"mediaType": mediatypes.OCI_MANIFEST, "digest": subject, "size": 7},
        }
    ).encode()
    digest = "sha512:" + hashlib.sha512(raw).hexdigest()
    put = registry.push_manifest("acme/private", digest, raw, mediatypes.OCI_MANIFEST)
    assert put.status_code == 201 and put["OCI-Subject"] == subject
    response = registry.request("GET", f"/v2/acme/private/referrers/{subject}")
    assert response.status_code == 200
    assert [m["digest"] for m in response.json()["manifests"]] == [digest]
    short = registry.request("GET", "/v2/acme/private/referrers/sha512:" + "a" * 64)
    assert short.status_code == 400 and error_codes(short) == ["DIGEST_INVALID"]

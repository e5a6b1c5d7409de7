"""``/v2/<name>/referrers/<digest>`` and the ``OCI-Subject`` header (OCI distribution 1.1)."""

from __future__ import annotations

import json

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

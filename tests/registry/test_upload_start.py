"""``POST /v2/<name>/blobs/uploads/`` (UploadStartView): monolithic uploads in the POST, and
the CSRF exemption of every registry endpoint."""

from __future__ import annotations

from quaysquash.storage import blob_key
from quaysquash.storage import get_storage as get_driver

from .conftest import digest_of
from .uploading import DATA, start


def test_it_accepts_a_monolithic_upload_in_the_post(registry):
    digest = digest_of(DATA)
    response = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", DATA)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/private/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert get_driver().read_bytes(blob_key(digest)) == DATA


def test_it_exempts_every_registry_endpoint_from_csrf_checks(world):
    from django.test import Client

    from .conftest import Registry

    strict = Registry(Client(enforce_csrf_checks=True), world.admin)
    location = start(strict)
    assert strict.request("PATCH", location, b"abc").status_code == 202
    done = strict.request("PUT", f"{location}?digest={digest_of(b'abc')}")
    assert done.status_code == 201
    _, raw = strict.push_image("acme/private", "csrf")
    assert strict.request("DELETE", "/v2/acme/private/manifests/csrf").status_code == 202


def test_it_publishes_nothing_to_s3_when_the_digest_is_wrong(registry, s3_bucket, s3_server):
    wrong = digest_of(b"not the data")
    monolithic = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert monolithic.status_code == 400
    location = start(registry)
    registry.request("PATCH", location, DATA)
    assert registry.request("PUT", f"{location}?digest={wrong}").status_code == 400
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0

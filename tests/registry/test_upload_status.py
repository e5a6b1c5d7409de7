"""``GET``/``DELETE /v2/<name>/blobs/uploads/<uuid>`` (UploadView): the status of a session,
who may read it, cancelling it, and sessions that are not there."""

from __future__ import annotations

from .conftest import error_codes
from .uploading import pull_token, start, upload_objects


def test_it_reports_upload_status(registry):
    location = start(registry)
    registry.request("PATCH", location, b"12345")
    response = registry.request("GET", location)
    assert response.status_code == 204
    assert response["Range"] == "0-4"
    assert response["Location"] == location


def test_it_cancels_an_upload(registry):
    location = start(registry)
    registry.request("PATCH", location, b"12345")
    assert registry.request("DELETE", location).status_code == 204
    response = registry.request("GET", location)
    assert response.status_code == 404
    assert error_codes(response) == ["BLOB_UPLOAD_UNKNOWN"]
    assert upload_objects() == []


def test_it_answers_blob_upload_unknown_for_other_sessions(registry):
    location = start(registry, "acme/private")
    upload_id = location.rsplit("/", 1)[1]
    for path in (
        f"/v2/acme/public/blobs/uploads/{upload_id}",  # the session belongs to another repo
        "/v2/acme/private/blobs/uploads/not-a-uuid",
        "/v2/acme/private/blobs/uploads/00000000-0000-0000-0000-000000000000",
    ):
        response = registry.request("PATCH", path, b"x")
        assert response.status_code == 404, path
        assert error_codes(response) == ["BLOB_UPLOAD_UNKNOWN"]


def test_it_reports_upload_status_to_a_token_scoped_to_pull(registry, world, client):
    """Distribution spec end-13 (``GET /v2/<name>/blobs/uploads/<reference>``, 204): the
    reference registry grants it by method, GET being pull; a token without any scope on the
    repository is told which one to ask for."""
    location = start(registry)
    registry.request("PATCH", location, b"12345")
    response = client.get(location, **pull_token(client, world.writer, "acme/private"))
    assert response.status_code == 204 and response["Range"] == "0-4"
    other = client.get(location, **pull_token(client, world.writer, "acme/public"))
    assert other.status_code == 401
    assert error_codes(other) == ["UNAUTHORIZED"]
    assert 'scope="repository:acme/private:pull"' in other["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in other["WWW-Authenticate"]
    # Anyone without read is answered as for a missing repository.
    hidden = client.get(location, **world.outsider.headers())
    assert hidden.status_code == 404 and error_codes(hidden) == ["NAME_UNKNOWN"]

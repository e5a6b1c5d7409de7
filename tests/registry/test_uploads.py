"""``/v2/<name>/blobs/uploads/``: sessions, chunks, monolithic uploads, cleanup (mounts: test_mounts.py)."""

from __future__ import annotations

import datetime
import hashlib
import os
import time

from django.utils import timezone

from quaysquash.registry import uploads
from quaysquash.registry.models import Blob, Upload
from quaysquash.registry.storage import get_storage
from quaysquash.registry.tasks import cleanup_stale_uploads
from quaysquash.storage import blob_key
from quaysquash.storage import get_storage as get_driver

from .conftest import digest_of, error_codes
from .test_blobs import body

DATA = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk


def upload_objects() -> list[str]:
    """What upload sessions keep: objects in the storage, staged bodies on this host."""
    driver = get_driver()
    staged = [p.name for p in driver.staging_dir().iterdir()]
    return [info.key for info in driver.list("uploads/")] + staged


def start(registry, repo: str = "acme/private"):
    response = registry.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.content
    assert response["Range"] == "0-0"
    assert response["Docker-Upload-UUID"]
    return response["Location"]


def test_it_accepts_a_monolithic_upload_in_the_post(registry):
    digest = digest_of(DATA)
    response = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", DATA)
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/private/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert get_driver().read_bytes(blob_key(digest)) == DATA


def test_it_accepts_a_session_finished_by_a_single_put(registry):
    location = start(registry)
    digest = digest_of(DATA)
    response = registry.request("PUT", f"{location}?digest={digest}", DATA)
    assert response.status_code == 201
    assert response["Docker-Content-Digest"] == digest
    fetched = registry.request("GET", f"/v2/acme/private/blobs/{digest}")
    assert body(fetched) == DATA
    assert not Upload.objects.exists()


def test_it_accepts_chunks_with_content_range(registry):
    location = start(registry)
    half = len(DATA) // 2
    first = registry.request("PATCH", location, DATA[:half], HTTP_CONTENT_RANGE=f"0-{half - 1}")
    assert first.status_code == 202
    assert first["Range"] == f"0-{half - 1}"
    second = registry.request(
        "PATCH", first["Location"], DATA[half:], HTTP_CONTENT_RANGE=f"{half}-{len(DATA) - 1}"
    )
    assert second["Range"] == f"0-{len(DATA) - 1}"
    done = registry.request("PUT", f"{second['Location']}?digest={digest_of(DATA)}")
    assert done.status_code == 201


def test_it_accepts_streamed_chunks_without_content_range_as_podman_sends(registry):
    location = start(registry)
    for part in (DATA[:1000], DATA[1000:]):
        response = registry.request("PATCH", location, part)
        assert response.status_code == 202
    assert registry.request("GET", location)["Range"] == f"0-{len(DATA) - 1}"
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201


def test_it_finishes_correctly_after_losing_its_running_hash(registry):
    location = start(registry)
    registry.request("PATCH", location, DATA[:5000])
    uploads._states.clear()  # as after a restart, or another worker took the chunk
    registry.request("PATCH", location, DATA[5000:])
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201


def test_it_refuses_out_of_order_chunks_with_416(registry):
    location = start(registry)
    registry.request("PATCH", location, b"abcd", HTTP_CONTENT_RANGE="0-3")
    response = registry.request("PATCH", location, b"efgh", HTTP_CONTENT_RANGE="10-13")
    assert response.status_code == 416
    assert response["Range"] == "0-3"
    malformed = registry.request("PATCH", location, b"efgh", HTTP_CONTENT_RANGE="ten")
    assert malformed.status_code == 400
    assert error_codes(malformed) == ["BLOB_UPLOAD_INVALID"]


def test_it_reports_upload_status(registry):
    location = start(registry)
    registry.request("PATCH", location, b"12345")
    response = registry.request("GET", location)
    assert response.status_code == 204
    assert response["Range"] == "0-4"
    assert response["Location"] == location


def test_it_refuses_a_wrong_digest_and_leaves_nothing_visible(registry):
    location = start(registry)
    wrong = digest_of(b"something else")
    response = registry.request("PUT", f"{location}?digest={wrong}", DATA)
    assert response.status_code == 400
    assert error_codes(response) == ["DIGEST_INVALID"]
    assert not get_storage().exists(wrong)
    assert not get_storage().exists(digest_of(DATA))
    assert not Blob.objects.exists()
    assert upload_objects() == []
    monolithic = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert error_codes(monolithic) == ["DIGEST_INVALID"]
    assert upload_objects() == []


def test_it_requires_a_valid_digest_to_finish(registry):
    location = start(registry)
    for query in ("", "?digest=sha256:short"):
        response = registry.request("PUT", f"{location}{query}", b"x")
        assert response.status_code == 400
        assert error_codes(response) == ["DIGEST_INVALID"]


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


def test_it_cleans_up_stale_sessions_and_orphaned_files(registry):
    stale = start(registry)
    registry.request("PATCH", stale, b"old bytes")
    fresh = start(registry)
    Upload.objects.filter(pk=stale.rsplit("/", 1)[1]).update(
        updated=timezone.now() - datetime.timedelta(days=2)
    )
    driver = get_driver()
    orphan = driver.staging_dir() / "ingest-orphan"  # an interrupted monolithic upload
    orphan.write_bytes(b"interrupted monolithic upload")
    # A chunk of a session whose row is gone (deleted on another host mid-request).
    stray = f"uploads/{'0' * 8}-0000-0000-0000-{'0' * 12}/x"
    driver.write(stray, [b"stray chunk"])
    old = time.time() - 3 * 86400
    for path in (orphan, driver.local_path(stray)):
        os.utime(path, (old, old))
    removed = cleanup_stale_uploads(max_age=datetime.timedelta(days=1))
    assert removed == {"sessions": 1, "files": 1, "tmp_removed": 1}
    assert registry.request("GET", stale).status_code == 404
    assert registry.request("GET", fresh).status_code == 204
    assert not orphan.exists() and driver.stat(stray) is None


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


def test_it_keeps_a_chunked_upload_session_in_the_bucket_and_publishes_it(
    registry, s3_bucket, s3_server
):
    location = start(registry)
    for part in (DATA[:1000], DATA[1000:]):
        assert registry.request("PATCH", location, part).status_code == 202
    listed = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="reg/uploads/")
    assert listed["KeyCount"] == 2  # one object per chunk: any web server can go on
    assert list(get_driver().staging_dir().iterdir()) == []
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201
    hexpart = digest_of(DATA).split(":")[1]
    head = s3_server.client().head_object(
        Bucket=s3_bucket, Key=f"reg/blobs/sha256/{hexpart[:2]}/{hexpart}"
    )
    assert head["ContentLength"] == len(DATA)
    assert upload_objects() == []


def test_it_publishes_nothing_to_s3_when_the_digest_is_wrong(registry, s3_bucket, s3_server):
    wrong = digest_of(b"not the data")
    monolithic = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert monolithic.status_code == 400
    location = start(registry)
    registry.request("PATCH", location, DATA)
    assert registry.request("PUT", f"{location}?digest={wrong}").status_code == 400
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


# --- Conformance: chunk order on the closing PUT, status with pull, sha512 ------------------


def test_it_refuses_a_closing_put_whose_range_is_out_of_order_and_keeps_the_session(registry):
    """Distribution spec, "Pushing a blob in chunks": "If a chunk is uploaded out of order, the
    registry MUST respond with a 416"; the final chunk may come with the PUT, and "A GET
    request may be used to retrieve the current valid offset" -- so the session stays."""
    location = start(registry)
    registry.request("PATCH", location, DATA[:1000], HTTP_CONTENT_RANGE="0-999")
    digest = digest_of(DATA)
    for stale in ("0-99", f"2000-{len(DATA) - 1}"):  # a retried chunk, a skipped one
        response = registry.request(
            "PUT", f"{location}?digest={digest}", DATA[1000:], HTTP_CONTENT_RANGE=stale
        )
        assert response.status_code == 416, stale
        assert response["Range"] == "0-999"
        assert response["Location"] == location
        assert error_codes(response) == ["BLOB_UPLOAD_INVALID"]
    status = registry.request("GET", location)
    assert status.status_code == 204 and status["Range"] == "0-999"
    done = registry.request(
        "PUT",
        f"{location}?digest={digest}",
        DATA[1000:],
        HTTP_CONTENT_RANGE=f"1000-{len(DATA) - 1}",
    )
    assert done.status_code == 201
    assert _stored(digest) == DATA


def test_it_keeps_the_session_after_an_out_of_order_patch(registry):
    """Same section: a 416 for a PATCH leaves the session where it was."""
    location = start(registry)
    registry.request("PATCH", location, b"abcd", HTTP_CONTENT_RANGE="0-3")
    refused = registry.request("PATCH", location, b"efgh", HTTP_CONTENT_RANGE="10-13")
    assert refused.status_code == 416 and refused["Range"] == "0-3"
    assert registry.request("GET", location)["Range"] == "0-3"
    resumed = registry.request("PATCH", location, b"efgh", HTTP_CONTENT_RANGE="4-7")
    assert resumed.status_code == 202 and resumed["Range"] == "0-7"
    done = registry.request("PUT", f"{location}?digest={digest_of(b'abcdefgh')}")
    assert done.status_code == 201


def test_it_enforces_chunk_order_over_the_live_server(live_org):
    """The same over real HTTP and the streaming upload handler (the body is on disk before
    the view runs; a refused chunk must leave nothing behind)."""
    import requests

    repo = f"{live_org.org}/app"
    auth = live_org.basic()
    started = requests.post(live_org.url(f"/v2/{repo}/blobs/uploads/"), auth=auth, timeout=30)
    location = live_org.url(started.headers["Location"])
    first = requests.patch(
        location, data=DATA[:1000], headers={"Content-Range": "0-999"}, auth=auth, timeout=30
    )
    assert first.status_code == 202
    late = requests.patch(
        location, data=DATA[:1000], headers={"Content-Range": "0-999"}, auth=auth, timeout=30
    )
    assert late.status_code == 416 and late.headers["Range"] == "0-999"
    digest = digest_of(DATA)
    rest = {"Content-Range": f"1000-{len(DATA) - 1}"}
    stale = requests.put(
        f"{location}?digest={digest}",
        data=DATA[1000:],
        headers={"Content-Range": "0-99"},
        auth=auth,
        timeout=30,
    )
    assert stale.status_code == 416 and stale.headers["Range"] == "0-999"
    status = requests.get(location, auth=auth, timeout=30)
    assert status.status_code == 204 and status.headers["Range"] == "0-999"
    done = requests.put(
        f"{location}?digest={digest}", data=DATA[1000:], headers=rest, auth=auth, timeout=30
    )
    assert done.status_code == 201
    from tests.support.services import wait_for

    # The server deletes an unclaimed body just after it has answered.
    staging = live_org.stack.storage_root / "tmp"
    wait_for(lambda: not list(staging.glob("body-*")), timeout=10, what="bodies deleted")


def _stored(digest: str) -> bytes:
    with get_storage().open(digest) as fh:
        return fh.read()


def pull_token(client, who, repo: str) -> dict[str, str]:
    response = client.get(
        "/v2/auth", {"service": "t", "scope": f"repository:{repo}:pull"}, **who.headers()
    )
    assert response.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


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


def test_it_reports_upload_status_to_a_pull_token_over_the_live_server(live_org):
    from .live import TokenFlow

    repo = f"{live_org.org}/app"
    pusher = TokenFlow(live_org.stack.url, (live_org.robot, live_org.robot_token))
    started = pusher.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202
    assert pusher.request("PATCH", started.headers["Location"], data=b"12345").status_code == 202
    reader = TokenFlow(live_org.stack.url, (live_org.robot, live_org.robot_token))
    reader.token = reader.fetch_token(
        [f"repository:{repo}:pull"], live_org.url("/v2/auth"), pusher.challenges[0]["service"]
    )
    status = reader.request("GET", started.headers["Location"])
    assert status.status_code == 204 and status.headers["Range"] == "0-4"
    assert reader.challenges == []  # the pull token sufficed


def sha512_of(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def test_it_accepts_sha512_uploads_in_one_put_and_in_chunks(registry):
    """OCI image spec, "Digests" (sha512 registered); distribution spec, "Pushing a blob in
    chunks": the closing PUT names the whole blob's digest, here a sha512 one, and the blob is
    verified and filed under it."""
    digest = sha512_of(DATA)
    location = start(registry)
    single = registry.request("PUT", f"{location}?digest={digest}", DATA)
    assert single.status_code == 201 and single["Docker-Content-Digest"] == digest
    other = DATA[::-1]
    location = start(registry)
    registry.request("PATCH", location, other[:5000], HTTP_CONTENT_RANGE="0-4999")
    uploads._states.clear()  # as after a restart: the file is hashed again, with sha512
    registry.request("PATCH", location, other[5000:])
    chunked = registry.request("PUT", f"{location}?digest={sha512_of(other)}")
    assert chunked.status_code == 201
    assert chunked["Docker-Content-Digest"] == sha512_of(other)
    assert _stored(sha512_of(other)) == other
    location = start(registry)
    registry.request("PATCH", location, other)
    wrong = registry.request("PUT", f"{location}?digest={sha512_of(b'not it')}")
    assert wrong.status_code == 400 and error_codes(wrong) == ["DIGEST_INVALID"]


def test_it_accepts_sha512_uploads_over_the_live_server(live_org):
    """Through the streaming handler, whose first chunk arrives hashed with sha256."""
    import requests

    repo, auth = f"{live_org.org}/app", live_org.basic()
    digest = sha512_of(DATA)
    started = requests.post(live_org.url(f"/v2/{repo}/blobs/uploads/"), auth=auth, timeout=30)
    location = live_org.url(started.headers["Location"])
    requests.patch(location, data=DATA[:4096], auth=auth, timeout=30)
    requests.patch(location, data=DATA[4096:], auth=auth, timeout=30)
    done = requests.put(f"{location}?digest={digest}", auth=auth, timeout=30)
    assert done.status_code == 201 and done.headers["Docker-Content-Digest"] == digest
    got = requests.get(live_org.url(f"/v2/{repo}/blobs/{digest}"), auth=auth, timeout=30)
    assert got.content == DATA and got.headers["Docker-Content-Digest"] == digest


def test_it_finishes_a_session_whose_chunks_arrived_at_other_hosts(registry):
    # Another web server took the earlier chunks: this process holds no running hash, so the
    # chunks are read back from the storage and hashed at the PUT.
    location = start(registry)
    third = len(DATA) // 3
    for begin, end in ((0, third), (third, 2 * third), (2 * third, len(DATA))):
        uploads._states.clear()
        response = registry.request(
            "PATCH", location, DATA[begin:end], HTTP_CONTENT_RANGE=f"{begin}-{end - 1}"
        )
        assert response.status_code == 202
    uploads._states.clear()
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201
    assert get_driver().read_bytes(blob_key(digest_of(DATA))) == DATA
    assert upload_objects() == []


def test_it_refuses_an_out_of_order_chunk_with_416_and_keeps_the_session(registry):
    location = start(registry)
    assert registry.request("PATCH", location, DATA[:100]).status_code == 202
    skipped = registry.request("PATCH", location, DATA[200:300], HTTP_CONTENT_RANGE="200-299")
    assert skipped.status_code == 416
    assert skipped["Range"] == "0-99"
    resumed = registry.request(
        "PATCH", location, DATA[100:], HTTP_CONTENT_RANGE=f"100-{len(DATA) - 1}"
    )
    assert resumed.status_code == 202
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201


def test_it_ignores_the_chunk_of_a_request_that_lost_a_race(registry):
    location = start(registry)
    upload_id = location.rsplit("/", 1)[1]
    assert registry.request("PATCH", location, DATA[:100]).status_code == 202
    # A retry of the same chunk on another host committed its object, but its row update lost.
    digest = digest_of(DATA[:50])
    get_driver().write(uploads.chunk_key(upload_id, 0, 50, digest), [DATA[:50]])
    assert registry.request("PATCH", location, DATA[100:]).status_code == 202
    uploads._states.clear()
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201
    assert get_driver().read_bytes(blob_key(digest_of(DATA))) == DATA

"""``PATCH``/``PUT /v2/<name>/blobs/uploads/<uuid>`` (UploadView): chunks, their order, the
closing digest (sha256 and sha512), sessions spread over hosts and a bucket."""

from __future__ import annotations

from quaysquash.registry import uploads
from quaysquash.registry.models import Blob, Upload
from quaysquash.registry.storage import get_storage
from quaysquash.storage import blob_key
from quaysquash.storage import get_storage as get_driver

from .conftest import digest_of, error_codes
from .test_blobs import body
from .uploading import DATA, sha512_of, start, stored, upload_objects


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
    assert stored(digest) == DATA


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
    assert stored(sha512_of(other)) == other
    location = start(registry)
    registry.request("PATCH", location, other)
    wrong = registry.request("PUT", f"{location}?digest={sha512_of(b'not it')}")
    assert wrong.status_code == 400 and error_codes(wrong) == ["DIGEST_INVALID"]


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

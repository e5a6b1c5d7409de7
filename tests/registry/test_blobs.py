"""``/v2/<name>/blobs/<digest>``: GET/HEAD with Range and validators, DELETE."""

from __future__ import annotations

import hashlib
import subprocess

from quaysquash.registry.storage import get_storage
from tests.support.tools import require

from .conftest import digest_of, error_codes

DATA = bytes(range(256)) * 40  # 10 KiB


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_serves_a_blob_with_digest_length_and_etag(registry):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request("GET", f"/v2/acme/private/blobs/{digest}")
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Docker-Content-Digest"] == digest
    assert response["Content-Length"] == str(len(DATA))
    assert response["ETag"] == f'"{digest}"'
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_it_answers_head_without_a_body(registry):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request("HEAD", f"/v2/acme/private/blobs/{digest}")
    assert response.status_code == 200
    assert body(response) == b""
    assert response["Content-Length"] == str(len(DATA))
    assert response["Docker-Content-Digest"] == digest


def test_it_serves_byte_ranges(registry):
    digest = registry.push_blob("acme/private", DATA)
    url = f"/v2/acme/private/blobs/{digest}"
    response = registry.request("GET", url, HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert body(response) == DATA[10:20]
    assert response["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    assert response["Content-Length"] == "10"
    tail = registry.request("GET", url, HTTP_RANGE="bytes=-5")
    assert tail.status_code == 206 and body(tail) == DATA[-5:]
    rest = registry.request("GET", url, HTTP_RANGE="bytes=10000-")
    assert body(rest) == DATA[10000:]


def test_it_refuses_unsatisfiable_ranges_with_416(registry):
    digest = registry.push_blob("acme/private", DATA)
    for header in (f"bytes={len(DATA)}-", "bytes=-0"):
        response = registry.request("GET", f"/v2/acme/private/blobs/{digest}", HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{len(DATA)}"


def test_it_ignores_malformed_ranges_like_the_squash_pull(registry):
    # One parser for /v2/ and /c1/squash/ (quaysquash.core.serving), RFC 9110's rules: an
    # invalid or unsupported Range is ignored and the whole blob is sent.
    digest = registry.push_blob("acme/private", DATA)
    for header in ("bytes=20-10", "lines=1-2", "bytes=0-1,5-6"):
        response = registry.request("GET", f"/v2/acme/private/blobs/{digest}", HTTP_RANGE=header)
        assert response.status_code == 200, header
        assert body(response) == DATA


def test_it_answers_blob_unknown_for_missing_blobs(registry):
    missing = digest_of(b"never pushed")
    for method in ("GET", "HEAD"):
        response = registry.request(method, f"/v2/acme/private/blobs/{missing}")
        assert response.status_code == 404
    assert error_codes(registry.request("GET", f"/v2/acme/private/blobs/{missing}")) == [
        "BLOB_UNKNOWN"
    ]


def test_it_only_serves_blobs_linked_to_the_repository(registry):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request("GET", f"/v2/acme/public/blobs/{digest}")
    assert response.status_code == 404
    assert error_codes(response) == ["BLOB_UNKNOWN"]


def test_it_refuses_malformed_and_unsupported_digests(registry):
    for digest in ("sha256:abc", "sha512:" + "a" * 64, "md5:" + "a" * 32):
        response = registry.request("GET", f"/v2/acme/private/blobs/{digest}")
        assert response.status_code == 400, digest
        assert error_codes(response) == ["DIGEST_INVALID"]


def test_it_unlinks_a_blob_on_delete(registry):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request("DELETE", f"/v2/acme/private/blobs/{digest}")
    assert response.status_code == 202
    assert registry.request("GET", f"/v2/acme/private/blobs/{digest}").status_code == 404
    again = registry.request("DELETE", f"/v2/acme/private/blobs/{digest}")
    assert again.status_code == 404
    assert error_codes(again) == ["BLOB_UNKNOWN"]


def sha512_of(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def test_it_stores_serves_and_unlinks_a_sha512_blob_like_a_sha256_one(registry):
    """OCI image spec, "Digests": sha512 is a registered algorithm; distribution spec,
    "Pulling blobs" / "Deleting Blobs": the blob is served under its digest (the
    Docker-Content-Digest "MUST be a digest matching that of the response body") and a
    missing one is a 404."""
    digest = sha512_of(DATA)
    pushed = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", DATA)
    assert pushed.status_code == 201
    assert pushed["Docker-Content-Digest"] == digest
    assert pushed["Location"] == f"/v2/acme/private/blobs/{digest}"
    hexpart = digest.split(":")[1]
    assert get_storage().key(digest) == f"blobs/sha512/{hexpart[:2]}/{hexpart}"
    head = registry.request("HEAD", f"/v2/acme/private/blobs/{digest}")
    assert head.status_code == 200
    assert head["Content-Length"] == str(len(DATA)) and head["Docker-Content-Digest"] == digest
    got = registry.request("GET", f"/v2/acme/private/blobs/{digest}")
    assert body(got) == DATA and got["Docker-Content-Digest"] == digest
    ranged = registry.request("GET", f"/v2/acme/private/blobs/{digest}", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and body(ranged) == DATA[:10]
    assert registry.request("DELETE", f"/v2/acme/private/blobs/{digest}").status_code == 202
    for method in ("GET", "HEAD", "DELETE"):
        gone = registry.request(method, f"/v2/acme/private/blobs/{digest}")
        assert gone.status_code == 404, method
        if method != "HEAD":
            assert error_codes(gone) == ["BLOB_UNKNOWN"]


def test_it_answers_blob_unknown_for_a_sha512_blob_never_pushed(registry):
    response = registry.request("GET", f"/v2/acme/private/blobs/{sha512_of(b'never')}")
    assert response.status_code == 404
    assert error_codes(response) == ["BLOB_UNKNOWN"]


def test_it_serves_sha512_blobs_over_the_live_server(live_org):
    """The same over real HTTP, through the streaming upload handler (which hashes bodies
    with sha256 on the way in: a sha512 push is verified with sha512 all the same)."""
    import requests

    repo = f"{live_org.org}/app"
    digest = live_org.push_blob(repo, DATA, "sha512")
    url = live_org.url(f"/v2/{repo}/blobs/{digest}")
    got = requests.get(url, auth=live_org.basic(), timeout=30)
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["Docker-Content-Digest"] == digest
    hexpart = digest.split(":")[1]
    stored = live_org.stack.storage_root / "blobs" / "sha512" / hexpart[:2] / hexpart
    assert stored.read_bytes() == DATA
    wrong = requests.post(
        live_org.url(f"/v2/{repo}/blobs/uploads/?digest={sha512_of(b'other')}"),
        data=DATA,
        auth=live_org.basic(),
        timeout=30,
    )
    assert wrong.status_code == 400 and error_codes(wrong) == ["DIGEST_INVALID"]
    assert requests.delete(url, auth=live_org.basic(), timeout=30).status_code == 202
    missing = requests.get(url, auth=live_org.basic(), timeout=30)
    assert missing.status_code == 404 and error_codes(missing) == ["BLOB_UNKNOWN"]


def test_it_answers_unknown_paths_and_names_in_the_error_format(registry):
    response = registry.request("GET", "/v2/Acme/Web/tags/list")
    assert response.status_code == 400
    assert error_codes(response) == ["NAME_INVALID"]
    response = registry.request("GET", "/v2/single/tags/list")
    assert error_codes(response) == ["NAME_INVALID"]


def test_it_answers_unsupported_methods_with_405(registry):
    response = registry.request("POST", "/v2/acme/private/tags/list")
    assert response.status_code == 405
    assert error_codes(response) == ["UNSUPPORTED"]


# --- S3 storage (a real S3-compatible server on loopback, tests/support/s3_server.py) ----------


def test_it_redirects_blob_gets_to_a_presigned_url_on_s3(registry, s3_bucket, s3_server, tmp_path):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request("GET", f"/v2/acme/private/blobs/{digest}")
    assert response.status_code == 307
    location = response["Location"]
    hexpart = digest.split(":")[1]
    assert location.startswith(f"{s3_server.url}/{s3_bucket}/reg/blobs/sha256/{hexpart[:2]}/")
    assert "X-Amz-Signature=" in location
    assert response["Docker-Content-Digest"] == digest
    out = tmp_path / "blob"
    subprocess.run([require("curl"), "-fsS", "-o", str(out), location], check=True, timeout=60)
    assert out.read_bytes() == DATA
    # HEAD is still answered here, with the size and digest clients check before a pull.
    head = registry.request("HEAD", f"/v2/acme/private/blobs/{digest}")
    assert head.status_code == 200 and not head.has_header("Location")
    assert head["Content-Length"] == str(len(DATA)) and head["Docker-Content-Digest"] == digest


def test_it_serves_blobs_itself_on_s3_when_redirects_are_off(registry, s3_bucket, settings):
    settings.QS_S3_REDIRECT = False
    digest = registry.push_blob("acme/private", DATA)
    url = f"/v2/acme/private/blobs/{digest}"
    whole = registry.request("GET", url)
    assert whole.status_code == 200 and body(whole) == DATA
    part = registry.request("GET", url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body(part) == DATA[100:200]


def test_it_answers_blob_unknown_on_s3_when_the_object_is_gone(registry, s3_bucket):
    digest = registry.push_blob("acme/private", DATA)
    get_storage().delete(digest)
    for method in ("GET", "HEAD"):
        response = registry.request(method, f"/v2/acme/private/blobs/{digest}")
        assert response.status_code == 404


def test_it_files_sha512_blobs_under_their_algorithm_on_s3(registry, s3_bucket, s3_server):
    """sha512 on S3 storage: verified with sha512 while uploading, filed at
    ``<prefix>blobs/sha512/<ab>/<hex>`` (OCI image spec, "Digests")."""
    digest = sha512_of(DATA)
    pushed = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={digest}", DATA)
    assert pushed.status_code == 201
    hexpart = digest.split(":")[1]
    head = s3_server.client().head_object(
        Bucket=s3_bucket, Key=f"reg/blobs/sha512/{hexpart[:2]}/{hexpart}"
    )
    assert head["ContentLength"] == len(DATA)
    served = registry.request("HEAD", f"/v2/acme/private/blobs/{digest}")
    assert served.status_code == 200 and served["Docker-Content-Digest"] == digest
    wrong = sha512_of(b"not the data")
    refused = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert refused.status_code == 400 and error_codes(refused) == ["DIGEST_INVALID"]

"""``S3Storage`` against a real S3-compatible HTTP server (moto's, on loopback): every call goes
over HTTP through boto3, and presigned URLs are fetched with curl."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess

import pytest

from quaysquash.registry.s3storage import PART_SIZE, S3Storage
from quaysquash.registry.storage import DigestMismatch, get_storage
from tests.support.tools import require

from .conftest import digest_of

SMALL = b"small blob\n" * 100
# Bigger than one part, so it goes up as a multipart upload.
LARGE = os.urandom(PART_SIZE + 123_457)


@pytest.fixture
def bucket(s3_bucket) -> str:
    return s3_bucket


def keys(s3_server, bucket: str) -> list[str]:
    listing = s3_server.client().list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def pending_uploads(s3_server, bucket: str) -> list[str]:
    listing = s3_server.client().list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


def pieces(data: bytes, size: int = 1_000_003) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_it_is_chosen_by_the_settings_and_keeps_the_secret_out_of_its_repr(bucket, s3_server):
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    assert storage.bucket == bucket and storage.redirects
    assert s3_server.secret_access_key not in repr(storage)
    assert s3_server.secret_access_key not in repr(storage.config)


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["one-put", "multipart"])
def test_it_writes_a_stream_under_its_digest_and_reads_it_back(bucket, s3_server, data):
    storage = get_storage()
    digest, size = storage.write_stream(pieces(data), expected_digest=digest_of(data))
    assert (digest, size) == (digest_of(data), len(data))
    hexpart = digest.split(":")[1]
    assert keys(s3_server, bucket) == [f"reg/blobs/sha256/{hexpart[:2]}/{hexpart}"]
    assert pending_uploads(s3_server, bucket) == []
    assert storage.exists(digest) and storage.size(digest) == len(data)
    with storage.open(digest) as fh:
        assert fh.read() == data


@pytest.mark.parametrize("data", [SMALL, LARGE], ids=["one-put", "multipart"])
def test_it_leaves_nothing_when_the_digest_does_not_match(bucket, s3_server, data):
    storage = get_storage()
    wrong = digest_of(b"something else")
    with pytest.raises(DigestMismatch):
        storage.write_stream(pieces(data), expected_digest=wrong)
    assert keys(s3_server, bucket) == []
    assert pending_uploads(s3_server, bucket) == []  # the multipart upload was aborted
    assert not storage.exists(wrong) and not storage.exists(digest_of(data))


def test_it_leaves_nothing_when_the_stream_breaks_off(bucket, s3_server):
    def broken():
        yield LARGE
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        get_storage().write_stream(broken(), expected_digest=digest_of(LARGE + b"more"))
    assert keys(s3_server, bucket) == [] and pending_uploads(s3_server, bucket) == []


def test_it_writes_a_stream_of_unknown_digest_through_a_temporary_key(bucket, s3_server):
    storage = get_storage()
    digest, size = storage.write_file(io.BytesIO(SMALL))
    assert digest == digest_of(SMALL) and size == len(SMALL)
    hexpart = digest.split(":")[1]
    # Copied into place; the temporary key is gone.
    assert keys(s3_server, bucket) == [f"reg/blobs/sha256/{hexpart[:2]}/{hexpart}"]


def test_it_commits_a_verified_local_file_and_removes_it(bucket, s3_server):
    storage = get_storage()
    path = storage.uploads_dir / "session-test"
    path.write_bytes(LARGE)
    storage.commit_file(path, digest_of(LARGE))
    assert not path.exists()
    assert storage.size(digest_of(LARGE)) == len(LARGE)
    with storage.open(digest_of(LARGE)) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == digest_of(LARGE).split(":")[1]


def test_it_opens_a_seekable_reader_that_reads_sequentially(bucket):
    storage = get_storage()
    digest, _ = storage.write_stream(pieces(LARGE), expected_digest=digest_of(LARGE))
    with storage.open(digest) as fh:
        # What the engine does with a gzip layer: sniff, rewind, read to the end.
        assert fh.read(4) == LARGE[:4]
        assert fh.seekable() and fh.seek(0) == 0
        assert fh.read() == LARGE
        # What a ranged blob response does: start somewhere in the middle.
        fh.seek(PART_SIZE + 10)
        assert fh.read(100) == LARGE[PART_SIZE + 10 : PART_SIZE + 110]
        fh.seek(-7, os.SEEK_END)
        assert fh.read() == LARGE[-7:]
        fh.seek(len(LARGE) + 5)
        assert fh.read(10) == b""


def test_it_deletes_and_then_reports_the_blob_missing(bucket, s3_server):
    storage = get_storage()
    digest, _ = storage.write_stream([SMALL], expected_digest=digest_of(SMALL))
    storage.delete(digest)
    assert not storage.exists(digest)
    with pytest.raises(FileNotFoundError):
        storage.size(digest)
    with pytest.raises(FileNotFoundError):
        storage.open(digest)
    storage.delete(digest)  # deleting twice is fine, as with local files
    assert keys(s3_server, bucket) == []


def test_it_presigns_a_get_url_that_curl_fetches(bucket, s3_server, tmp_path):
    storage = get_storage()
    digest, _ = storage.write_stream([SMALL], expected_digest=digest_of(SMALL))
    url = storage.presigned_url(digest)
    assert url.startswith(s3_server.url + f"/{bucket}/reg/blobs/sha256/")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=600" in url
    assert s3_server.secret_access_key not in url
    out = tmp_path / "blob"
    subprocess.run([require("curl"), "-fsS", "-o", str(out), url], check=True, timeout=60)
    assert out.read_bytes() == SMALL


def test_it_cleans_up_what_a_dead_writer_left_in_the_bucket(db, bucket, s3_server):
    from datetime import timedelta

    from quaysquash.registry.tasks import cleanup_stale_uploads

    client = s3_server.client()
    kept = get_storage().write_stream(pieces(SMALL), expected_digest=digest_of(SMALL))[0]
    # What a process killed half way through write_stream leaves: an unfinished multipart
    # upload at a blob key, and a temporary object.
    client.create_multipart_upload(Bucket=bucket, Key="reg/blobs/sha256/00/" + "0" * 64)
    client.put_object(Bucket=bucket, Key="reg/tmp/dead-writer", Body=b"partial")
    assert pending_uploads(s3_server, bucket) and "reg/tmp/dead-writer" in keys(s3_server, bucket)

    young = cleanup_stale_uploads(timedelta(hours=1))
    assert young["tmp_removed"] == 0 and "reg/tmp/dead-writer" in keys(s3_server, bucket)
    # moto reports every multipart upload as initiated on 2010-11-10, so it cannot show that a
    # young one is spared: here every unfinished upload counts as old.

    # A cutoff a minute ahead makes everything old, whatever the server's clock rounding.
    old = cleanup_stale_uploads(timedelta(seconds=-60))
    assert old["tmp_removed"] == 1
    assert young["multipart_aborted"] + old["multipart_aborted"] == 1
    assert pending_uploads(s3_server, bucket) == []
    hexpart = kept.split(":")[1]
    assert keys(s3_server, bucket) == [f"reg/blobs/sha256/{hexpart[:2]}/{hexpart}"]

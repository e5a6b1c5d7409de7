"""The storage protocol: one suite of tests that both drivers (local, S3) must pass, the S3
driver against moto's server and against Ceph's radosgw."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import time

import pytest
import requests

from quaysquash.storage import DigestMismatch, blob_key, get_storage
from tests.support.tools import require

MIB = 1024 * 1024


def sha(algo: str, data: bytes) -> str:
    return f"{algo}:{hashlib.new(algo, data).hexdigest()}"


def test_it_writes_an_object_and_reads_it_from_any_offset(storage):
    data = os.urandom(3 * MIB + 5)
    digest, size = storage.write("things/a", [data[:MIB], data[MIB:]])
    assert (digest, size) == (sha("sha256", data), len(data))
    info = storage.stat("things/a")
    assert info.key == "things/a" and info.size == len(data)
    assert abs(info.modified - time.time()) < 120
    with storage.open("things/a", offset=MIB + 1) as fh:
        assert fh.read() == data[MIB + 1 :]
    assert storage.read_bytes("things/a") == data


def test_it_answers_none_or_file_not_found_for_missing_objects(storage):
    assert storage.stat("nothing/here") is None
    with pytest.raises(FileNotFoundError):
        storage.open("nothing/here")
    storage.delete("nothing/here")  # not an error


@pytest.mark.parametrize("algo", ["sha256", "sha512"])
def test_it_publishes_only_what_matches_the_expected_digest(storage, algo):
    data = os.urandom(6 * MIB)  # several multipart parts on S3
    wrong = sha(algo, b"something else")
    with pytest.raises(DigestMismatch) as err:
        storage.write(blob_key(wrong), [data], wrong)
    assert err.value.actual == sha(algo, data)
    assert storage.stat(blob_key(wrong)) is None
    right = sha(algo, data)
    assert storage.write(blob_key(right), [data], right) == (right, len(data))
    assert storage.read_bytes(blob_key(right)) == data


def test_it_keys_blobs_by_algorithm_and_hex():
    sha256 = "sha256:" + "ab" * 32
    sha512 = "sha512:" + "cd" * 64
    assert blob_key(sha256) == f"blobs/sha256/ab/{'ab' * 32}"
    assert blob_key(sha512) == f"blobs/sha512/cd/{'cd' * 64}"
    for bad in ("sha256:abc", "md5:" + "a" * 32, "sha512:" + "a" * 64):
        with pytest.raises(ValueError):
            blob_key(bad)


def test_it_refuses_keys_that_could_escape(storage):
    for key in ("../etc/passwd", "/abs", "a//b", "a/../b", ""):
        with pytest.raises(ValueError):
            storage.stat(key)


def test_it_takes_over_a_staged_file(storage):
    staged = storage.staging_dir() / "body-1"
    staged.write_bytes(b"staged bytes")
    storage.commit_file(staged, "uploads/s/1")
    assert not staged.exists()
    assert storage.read_bytes("uploads/s/1") == b"staged bytes"


def test_it_moves_an_object(storage):
    storage.write("uploads/s/chunk", [b"chunk"])
    storage.move("uploads/s/chunk", "blobs/x")
    assert storage.stat("uploads/s/chunk") is None
    assert storage.read_bytes("blobs/x") == b"chunk"


@pytest.mark.parametrize("with_local_copy", [False, True])
def test_it_assembles_parts_small_and_large_into_one_object(storage, tmp_path, with_local_copy):
    # A small first part, two of 6 MiB (copied inside the bucket on S3), small ones at the end.
    sizes = [1000, 6 * MIB, 6 * MIB, 300, 5]
    parts = [os.urandom(n) for n in sizes]
    keys = []
    for i, part in enumerate(parts):
        keys.append(f"squash/partial/1.1/{i:06d}")
        storage.write(keys[-1], [part], durable=False)
    copy = None
    if with_local_copy:
        copy = storage.staging_dir() / "whole"
        copy.write_bytes(b"".join(parts))
    storage.assemble("squash/blobs/1.1.tar", keys, local_copy=copy)
    assert storage.read_bytes("squash/blobs/1.1.tar") == b"".join(parts)
    assert all(storage.stat(k) is not None for k in keys)  # parts stay until deleted


def test_it_lists_and_deletes_by_prefix(storage):
    for key in ("uploads/a/1", "uploads/a/2", "uploads/b/1", "blobs/z"):
        storage.write(key, [key.encode()])
    assert sorted(i.key for i in storage.list("uploads/a/")) == ["uploads/a/1", "uploads/a/2"]
    assert sorted(i.key for i in storage.list("uploads/")) == [
        "uploads/a/1",
        "uploads/a/2",
        "uploads/b/1",
    ]
    assert storage.delete_prefix("uploads/a/") == 2
    assert [i.key for i in storage.list("uploads/")] == ["uploads/b/1"]
    assert storage.stat("blobs/z") is not None


def test_it_cleans_up_old_staged_files_only(storage):
    old = storage.staging_dir() / "body-old"
    young = storage.staging_dir() / "body-young"
    old.write_bytes(b"x")
    young.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    storage.write("blobs/kept", [b"kept"])
    storage.cleanup(time.time() - 3600)
    assert not old.exists() and young.exists()
    assert storage.stat("blobs/kept") is not None


def test_it_has_local_paths_only_on_the_local_driver(local_storage, s3_storage):
    local_storage.write("blobs/l", [b"l"])
    assert local_storage.local_path("blobs/l").read_bytes() == b"l"
    assert local_storage.presigned_url("blobs/l") is None
    assert s3_storage.local_path("blobs/l") is None


def test_it_presigns_urls_on_s3_unless_redirects_are_off(s3_storage, settings, tmp_path):
    s3_storage.write("squash/blobs/9.1.tar", [b"archive"])
    url = s3_storage.presigned_url(
        "squash/blobs/9.1.tar", filename="web-v1.tar", content_type="application/x-tar"
    )
    out = tmp_path / "got"
    headers = subprocess.run(
        [require("curl"), "-fsS", "-D", "-", "-o", str(out), url],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.lower()
    assert out.read_bytes() == b"archive"
    assert 'filename="web-v1.tar"' in headers and "application/x-tar" in headers
    settings.QS_S3_REDIRECT = False
    assert get_storage().presigned_url("squash/blobs/9.1.tar") is None


def test_it_presigns_urls_that_a_verifying_server_refuses_once_expired_or_altered(
    radosgw, settings, tmp_path
):
    bucket = radosgw.create_bucket()
    radosgw.configure(settings, bucket, "pre/")
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    settings.QS_S3_PRESIGN_SECONDS = 2
    storage = get_storage()
    storage.write("squash/blobs/8.1.tar", [b"archive"])
    url = storage.presigned_url("squash/blobs/8.1.tar", filename="a.tar")
    assert requests.get(url, timeout=30).content == b"archive"
    signature = re.search(r"X-Amz-Signature=([0-9a-f]+)", url)[1]
    altered = url.replace(signature, signature[::-1])
    assert requests.get(altered, timeout=30).status_code == 403
    other_key = url.replace("8.1.tar", "8.2.tar")
    assert requests.get(other_key, timeout=30).status_code == 403
    time.sleep(3)
    assert requests.get(url, timeout=30).status_code == 403


def test_it_aborts_unfinished_multipart_uploads_on_s3(s3_storage, s3_endpoint, settings):
    client = s3_endpoint.client()
    client.create_multipart_upload(Bucket=settings.QS_S3_BUCKET, Key="pre/blobs/dead")
    # moto dates every upload in 2010; radosgw dates it now, to the second.
    result = s3_storage.cleanup(time.time() + 2)
    assert result["multipart_aborted"] == 1
    assert not client.list_multipart_uploads(Bucket=settings.QS_S3_BUCKET).get("Uploads")


def test_it_keeps_s3_secrets_out_of_repr(s3_storage, s3_endpoint):
    assert s3_endpoint.secret_access_key not in repr(s3_storage)
    assert s3_endpoint.secret_access_key not in repr(s3_storage.config)

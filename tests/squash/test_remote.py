"""``squash.remote``: the bucket copy of cached squashes, against a real S3-compatible server on
loopback (moto's HTTP server). The full flow through a stack is in ``test_s3.py``."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from quaysquash.squash import remote
from tests.support.tools import require

DATA = b"squashed bytes\n" * 1000


@pytest.fixture
def bucket(s3_server, settings, tmp_path) -> str:
    name = s3_server.create_bucket()
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    s3_server.configure(settings, name, "p/")
    remote._checked.clear()  # remembered checks name the previous test's bucket
    return name


def squash(file_name: str, sha256: str = "sha256:" + "a" * 64) -> SimpleNamespace:
    return SimpleNamespace(file_name=file_name, sha256=sha256, media_type="application/x-tar")


def put_copy(s3_server, bucket: str, file_name: str, sha256: str) -> None:
    s3_server.client().put_object(
        Bucket=bucket, Key=f"p/squash/{file_name}", Body=DATA, Metadata={"sha256": sha256}
    )


def test_it_redirects_only_to_a_copy_of_the_same_build(bucket, s3_server, tmp_path):
    image = squash("blobs/1.tar")
    assert remote.redirect_url(image, "web-v1.tar") is None  # not uploaded yet
    remote._checked.clear()  # as after ABSENT_TTL
    put_copy(s3_server, bucket, "blobs/1.tar", image.sha256)
    url = remote.redirect_url(image, "web-v1.tar")
    assert url and url.startswith(f"{s3_server.url}/{bucket}/p/squash/blobs/1.tar?")
    out = tmp_path / "out"
    headers = subprocess.run(
        [require("curl"), "-fsS", "-D", "-", "-o", str(out), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.read_bytes() == DATA
    assert 'attachment; filename="web-v1.tar"' in headers
    # A copy left by an older build (another sha256) is never served.
    put_copy(s3_server, bucket, "blobs/2.tar", "sha256:" + "b" * 64)
    assert remote.redirect_url(squash("blobs/2.tar"), "x.tar") is None


def test_it_does_not_redirect_when_redirects_are_off_or_storage_is_local(
    bucket, s3_server, settings
):
    image = squash("blobs/3.tar")
    put_copy(s3_server, bucket, "blobs/3.tar", image.sha256)
    settings.QS_S3_REDIRECT = False
    assert remote.redirect_url(image, "x.tar") is None
    settings.QS_S3_REDIRECT = True
    settings.QS_STORAGE_BACKEND = "local"
    assert remote.redirect_url(image, "x.tar") is None


def test_it_falls_back_to_local_serving_when_the_bucket_is_unreachable(bucket, settings):
    from tests.support.tools import free_port

    settings.QS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nobody listens
    assert remote.redirect_url(squash("blobs/4.tar"), "x.tar") is None


def test_it_deletes_copies_and_their_orphans(bucket, s3_server):
    image = squash("blobs/5.tar")
    put_copy(s3_server, bucket, "blobs/5.tar", image.sha256)
    assert remote.redirect_url(image, "x.tar")
    remote.delete("blobs/5.tar")
    assert remote.redirect_url(image, "x.tar") is None  # the remembered check went too
    for name in ("blobs/6.tar", "blobs/7.tar"):
        put_copy(s3_server, bucket, name, image.sha256)
    assert remote.remove_orphans({"blobs/6.tar"}, grace_seconds=0) == 1
    listing = s3_server.client().list_objects_v2(Bucket=bucket)
    assert [obj["Key"] for obj in listing["Contents"]] == ["p/squash/blobs/6.tar"]

"""The one HTTP serving module (quaysquash.core.serving): ranges, validators, redirects."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from quaysquash.core import serving
from quaysquash.core.serving import RangeNotSatisfiable, if_range_ok, none_match, parse_range
from quaysquash.storage import get_storage

DATA = bytes(range(256)) * 40


def test_it_parses_single_byte_ranges():
    assert parse_range("bytes=0-99", 1000) == (0, 100)
    assert parse_range("bytes=500-", 1000) == (500, 1000)
    assert parse_range("bytes=-100", 1000) == (900, 1000)
    assert parse_range("bytes=-5000", 1000) == (0, 1000)
    assert parse_range("bytes=900-5000", 1000) == (900, 1000)
    assert parse_range(" bytes=999-999 ", 1000) == (999, 1000)


def test_it_ignores_absent_malformed_and_multi_ranges():
    for header in (None, "", "bytes=0-1,5-6", "items=0-1", "bytes=-", "bytes=20-10", "bytes=x-"):
        assert parse_range(header, 1000) is None, header


def test_it_refuses_unsatisfiable_ranges():
    for header in ("bytes=1000-", "bytes=5000-6000", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable) as err:
            parse_range(header, 1000)
        assert err.value.headers == {"Content-Range": "bytes */1000"}


def test_it_compares_if_none_match_weakly_with_lists_and_star():
    assert none_match('"a"', '"a"')
    assert none_match('W/"a"', '"a"')
    assert none_match('"x", "a"', '"a"')
    assert none_match("*", '"a"')
    assert not none_match('"b"', '"a"')
    assert not none_match(None, '"a"')


def test_it_honours_if_range_only_for_the_same_copy():
    assert if_range_ok("", '"sha256:a"', 100)
    assert if_range_ok('"sha256:a"', '"sha256:a"', 100)
    assert not if_range_ok('"sha256:b"', '"sha256:a"', 100)
    assert if_range_ok("Thu, 01 Jan 1970 00:01:40 GMT", '"x"', 100)
    assert not if_range_ok("Thu, 01 Jan 1970 00:01:39 GMT", '"x"', 100)


@pytest.fixture
def stored(settings, tmp_path):
    settings.QS_STORAGE_BACKEND = "local"
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    get_storage().write("blobs/obj", [DATA])
    return serving.Stored(
        key="blobs/obj", size=len(DATA), etag='"sha256:e"', last_modified=100, filename="o.tar"
    )


def body(response) -> bytes:
    return b"".join(bytes(part) for part in response.streaming_content)


def test_it_sends_whole_objects_and_ranges_with_validators(stored):
    factory = RequestFactory()
    whole = serving.respond(factory.get("/"), get_storage(), stored)
    assert whole.status_code == 200 and body(whole) == DATA
    assert whole["Content-Length"] == str(len(DATA)) and whole["ETag"] == '"sha256:e"'
    assert whole["Accept-Ranges"] == "bytes"
    assert whole["Content-Disposition"] == 'attachment; filename="o.tar"'
    part = serving.respond(factory.get("/", HTTP_RANGE="bytes=10-19"), get_storage(), stored)
    assert part.status_code == 206 and body(part) == DATA[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(DATA)}"


def test_it_answers_304_and_ignores_ranges_for_another_copy(stored):
    factory = RequestFactory()
    cached = serving.respond(
        factory.get("/", HTTP_IF_NONE_MATCH='"sha256:e"'), get_storage(), stored
    )
    assert cached.status_code == 304
    stale = factory.get("/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"sha256:old"')
    response = serving.respond(stale, get_storage(), stored)
    assert response.status_code == 200 and body(response) == DATA


def test_it_answers_head_without_opening_the_object(stored):
    response = serving.respond(RequestFactory().head("/"), get_storage(), stored, body=False)
    assert response.status_code == 200 and response["Content-Length"] == str(len(DATA))


def test_it_hands_local_files_to_nginx_and_knows_when_they_are_gone(stored):
    response = serving.respond(
        RequestFactory().get("/"), get_storage(), stored, x_accel="/_internal/obj"
    )
    assert response["X-Accel-Redirect"] == "/_internal/obj" and response.content == b""
    get_storage().delete("blobs/obj")
    with pytest.raises(FileNotFoundError):
        serving.respond(RequestFactory().get("/"), get_storage(), stored, x_accel="/_i/obj")


def test_it_redirects_to_the_bucket_unless_told_otherwise(settings, tmp_path, s3_server):
    bucket = s3_server.create_bucket()
    s3_server.configure(settings, bucket)
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    get_storage().write("blobs/obj", [DATA])
    stored = serving.Stored(key="blobs/obj", size=len(DATA), etag='"e"')
    factory = RequestFactory()
    redirected = serving.respond(factory.get("/"), get_storage(), stored)
    assert redirected.status_code == 307 and "X-Amz-Signature=" in redirected["Location"]
    # If-Range asks for our validators, which the bucket does not have: served here.
    ranged = factory.get("/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"e"')
    response = serving.respond(ranged, get_storage(), stored)
    assert response.status_code == 206 and body(response) == DATA[:10]
    settings.QS_S3_REDIRECT = False
    streamed = serving.respond(factory.get("/"), get_storage(), stored)
    assert streamed.status_code == 200 and body(streamed) == DATA

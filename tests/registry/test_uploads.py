"""``/v2/<name>/blobs/uploads/``: sessions, chunks, monolithic uploads, mounts, cleanup."""

from __future__ import annotations

import datetime
import os
import time

from django.utils import timezone

from quaysquash.registry import uploads
from quaysquash.registry.models import Blob, RepositoryBlob, Upload
from quaysquash.registry.storage import get_storage
from quaysquash.registry.tasks import cleanup_stale_uploads

from .conftest import digest_of, error_codes
from .test_blobs import body

DATA = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk


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
    assert get_storage().blob_path(digest).read_bytes() == DATA


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
    assert list(get_storage().uploads_dir.iterdir()) == []
    monolithic = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert error_codes(monolithic) == ["DIGEST_INVALID"]
    assert list(get_storage().uploads_dir.iterdir()) == []


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
    assert list(get_storage().uploads_dir.iterdir()) == []


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


def test_it_mounts_a_blob_from_a_repository_the_caller_may_read(registry, world):
    digest = registry.push_blob("acme/private", DATA)
    response = registry.request(
        "POST", f"/v2/acme/public/blobs/uploads/?mount={digest}&from=acme/private"
    )
    assert response.status_code == 201
    assert response["Location"] == f"/v2/acme/public/blobs/{digest}"
    assert RepositoryBlob.objects.filter(repository=world.public, blob__digest=digest).exists()


def test_it_falls_back_to_a_session_when_the_mount_source_is_not_readable(registry, world):
    from quaysquash.accounts.models import Repository

    Repository.objects.create(namespace=world.acme, name="secret")
    digest = registry.push_blob("acme/secret", DATA)
    other = registry.as_(world.foreign)
    # The foreign robot may write its own repository but not read acme/secret.
    from quaysquash.accounts.models import RepositoryPermission

    RepositoryPermission.objects.create(
        repository=Repository.objects.get(name="thing"),
        robot=world_robot(world, "other", "bot"),
        role="write",
    )
    response = other.request(
        "POST", f"/v2/other/thing/blobs/uploads/?mount={digest}&from=acme/secret"
    )
    assert response.status_code == 202
    missing = registry.request(
        "POST", f"/v2/acme/public/blobs/uploads/?mount={digest_of(b'nope')}&from=acme/secret"
    )
    assert missing.status_code == 202


def world_robot(world, namespace: str, short: str):
    from quaysquash.accounts.models import RobotAccount

    return RobotAccount.objects.get(namespace__name=namespace, short_name=short)


def test_it_cleans_up_stale_sessions_and_orphaned_files(registry):
    stale = start(registry)
    registry.request("PATCH", stale, b"old bytes")
    fresh = start(registry)
    Upload.objects.filter(pk=stale.rsplit("/", 1)[1]).update(
        updated=timezone.now() - datetime.timedelta(days=2)
    )
    orphan = get_storage().uploads_dir / "ingest-orphan"
    orphan.write_bytes(b"interrupted monolithic upload")
    old = time.time() - 3 * 86400
    os.utime(orphan, (old, old))
    removed = cleanup_stale_uploads(max_age=datetime.timedelta(days=1))
    assert removed == {"sessions": 1, "files": 1}
    assert registry.request("GET", stale).status_code == 404
    assert registry.request("GET", fresh).status_code == 204
    assert not orphan.exists()


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


def test_it_publishes_a_chunked_upload_to_s3_and_keeps_the_session_local(
    registry, s3_bucket, s3_server
):
    location = start(registry)
    assert list(get_storage().uploads_dir.iterdir()) != []  # the session grows on local disk
    for part in (DATA[:1000], DATA[1000:]):
        assert registry.request("PATCH", location, part).status_code == 202
    done = registry.request("PUT", f"{location}?digest={digest_of(DATA)}")
    assert done.status_code == 201
    hexpart = digest_of(DATA).split(":")[1]
    head = s3_server.client().head_object(
        Bucket=s3_bucket, Key=f"reg/blobs/sha256/{hexpart[:2]}/{hexpart}"
    )
    assert head["ContentLength"] == len(DATA)
    assert list(get_storage().uploads_dir.iterdir()) == []


def test_it_publishes_nothing_to_s3_when_the_digest_is_wrong(registry, s3_bucket, s3_server):
    wrong = digest_of(b"not the data")
    monolithic = registry.request("POST", f"/v2/acme/private/blobs/uploads/?digest={wrong}", DATA)
    assert monolithic.status_code == 400
    location = start(registry)
    registry.request("PATCH", location, DATA)
    assert registry.request("PUT", f"{location}?digest={wrong}").status_code == 400
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0

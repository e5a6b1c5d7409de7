"""Unit tests of squash delivery on the pytest-django database, without servers."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from quaysquash.accounts.models import Namespace
from quaysquash.registry import mediatypes
from quaysquash.registry.importer import import_image
from quaysquash.registry.models import Blob, Manifest, ManifestChild
from quaysquash.squash import build, cache, eviction
from quaysquash.squash.models import SquashedImage
from quaysquash.squash.resolve import SquashHTTPError, choose_platform
from quaysquash.storage import blob_key, get_storage

from .images import layer_digests, make_layout


@pytest.fixture
def squash_dirs(settings, tmp_path):
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    build.load_or_index.cache_clear()
    return tmp_path


@pytest.fixture
def tiny(db, squash_dirs):
    Namespace.objects.create(name="acme", kind=Namespace.Kind.ORGANIZATION)
    layout = make_layout(squash_dirs / "layout", [{"a.txt": b"a\n"}, {"b.txt": b"b\n"}])
    tag = import_image(f"{layout}:latest", "acme/tiny:v1")
    return tag, layout


def _key(tag, fmt: str = "docker") -> cache.Key:
    return cache.Key(tag.repository, tag.manifest.digest, "linux/amd64", fmt, "none")


def test_it_creates_one_build_per_key_and_enqueues_once(tiny, django_capture_on_commit_callbacks):
    tag, _ = tiny
    with django_capture_on_commit_callbacks() as callbacks:
        first, started = cache.ensure_build(_key(tag), tag.manifest, "h/acme/tiny:v1")
        again, started_again = cache.ensure_build(_key(tag), tag.manifest, "h/acme/tiny:v1")
    assert (started, started_again) == (True, False)
    assert first.pk == again.pk
    assert len(callbacks) == 1


def test_it_restarts_a_failed_build_exactly_once(tiny, django_capture_on_commit_callbacks):
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    SquashedImage.objects.filter(pk=image.pk).update(state="failed", error="boom")
    image.refresh_from_db()
    snapshot = SquashedImage.objects.get(pk=image.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert cache.restart(image) is True
        assert cache.restart(snapshot) is False  # a concurrent caller saw the same attempt
    assert len(callbacks) == 1
    image.refresh_from_db()
    assert (image.state, image.attempt, image.error) == ("building", 2, "")


def test_it_treats_a_silent_builder_as_dead(tiny, settings):
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    assert not image.is_stale  # queued, within the queue timeout
    long_ago = timezone.now() - timedelta(seconds=settings.QS_SQUASH_STALE_SECONDS + 1)
    SquashedImage.objects.filter(pk=image.pk).update(task_id="t1", heartbeat=long_ago)
    image.refresh_from_db()
    assert image.is_stale
    _, started = cache.ensure_build(_key(tag), tag.manifest, None)
    assert started


def test_it_lets_a_redelivered_task_take_over_but_not_a_duplicate(tiny):
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    assert build.claim(image.pk, "task-1") is not None
    assert build.claim(image.pk, "task-2") is None  # task-1 is alive (fresh heartbeat)
    taken = build.claim(image.pk, "task-1")  # its own message, redelivered: the run died
    assert taken is not None
    assert taken.attempt == 2  # a new attempt: followers of the dead run are cut


def test_it_builds_in_process_and_publishes_atomically(tiny, squash_dirs):
    tag, layout = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, "h/acme/tiny:v1")
    assert build.build(image.pk, "task-1") == "ready"
    image.refresh_from_db()
    data = get_storage().read_bytes(cache.object_key(image.file_name))
    assert image.state == "ready" and image.size == len(data) == image.bytes_written
    assert image.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert list(get_storage().list("squash/partial/")) == []  # segments gone once assembled
    assert list(get_storage().staging_dir().iterdir()) == []  # and the build's scratch
    for digest in layer_digests(layout):
        assert cache.index_exists(digest)
    assert build.build(image.pk, "task-2") == "skipped"  # already ready


def test_it_fails_the_row_and_removes_the_partial_on_a_corrupt_layer(tiny, squash_dirs):
    tag, layout = tiny
    blob = get_storage().local_path(blob_key(layer_digests(layout)[0]))
    blob.write_bytes(b"not gzip at all")
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    assert build.build(image.pk, "task-1") == "failed"
    image.refresh_from_db()
    assert image.state == "failed"
    assert layer_digests(layout)[0] in image.error
    assert list(get_storage().list("squash/")) == []


def test_it_evicts_least_recently_used_first_and_never_one_leased(tiny, squash_dirs, settings):
    tag, _ = tiny
    images = []
    for fmt in ("docker", "oci", "rootfs"):
        image, _ = cache.ensure_build(_key(tag, fmt), tag.manifest, None)
        assert build.build(image.pk, f"t-{fmt}") == "ready"
        images.append(image)
    settings.QS_SQUASH_EVICT_GRACE_SECONDS = 3600
    now = timezone.now()
    # docker: read a minute ago (its lease holds); oci the oldest beyond the grace period.
    for age, image in zip((1, 300, 120), images, strict=True):
        SquashedImage.objects.filter(pk=image.pk).update(last_accessed=now - timedelta(minutes=age))
    docker, oci, rootfs = (SquashedImage.objects.get(pk=i.pk) for i in images)
    budget = rootfs.size + docker.size
    result = eviction.collect(budget)
    assert result["in_use_skipped"] == 1 and result["evicted"] == 1
    remaining = set(SquashedImage.objects.values_list("format", flat=True))
    assert remaining == {"docker", "rootfs"}  # oci went: the oldest one not leased
    assert get_storage().stat(cache.object_key(oci.file_name)) is None
    assert get_storage().stat(cache.object_key(docker.file_name)) is not None


def test_it_does_not_evict_a_squash_whose_lease_was_renewed_meanwhile(tiny, squash_dirs):
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    assert build.build(image.pk, "t") == "ready"
    old = timezone.now() - timedelta(days=1)
    SquashedImage.objects.filter(pk=image.pk).update(last_accessed=old)
    seen = SquashedImage.objects.get(pk=image.pk)
    # A pull on another host renews the lease after eviction read the row, before it deleted.
    SquashedImage.objects.filter(pk=image.pk).update(last_accessed=timezone.now())
    assert eviction._try_delete(seen) is False
    assert SquashedImage.objects.filter(pk=image.pk).exists()


def test_it_removes_segments_of_dead_attempts_and_orphan_squashes(tiny, squash_dirs, monkeypatch):
    storage = get_storage()
    storage.write("squash/partial/999.1/000000", [b"x" * 10])
    storage.write("squash/blobs/999.1.tar", [b"y" * 20])
    monkeypatch.setattr(eviction, "ORPHAN_GRACE_SECONDS", -1)
    assert eviction.collect()["orphan_bytes"] == 30
    assert list(storage.list("squash/")) == []


def _index(db_repo, platforms: list[str]) -> Manifest:
    config = Blob.objects.create(digest="sha256:" + "c" * 64, size=2)
    parent = Manifest.objects.create(
        repository=db_repo, digest="sha256:" + "0" * 64, media_type=mediatypes.OCI_INDEX, raw=b"{}"
    )
    for i, platform in enumerate(platforms):
        os_, arch, *variant = platform.split("/")
        child = Manifest.objects.create(
            repository=db_repo,
            digest=f"sha256:{i + 1:064x}",
            media_type=mediatypes.OCI_MANIFEST,
            raw=b"{}",
            config_blob=config,
        )
        ManifestChild.objects.create(
            parent=parent,
            child=child,
            position=i,
            os=os_,
            architecture=arch,
            variant=variant[0] if variant else "",
        )
    return parent


def test_it_picks_linux_amd64_from_an_index_by_default(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64/v8", "linux/amd64"])
    assert choose_platform(parent, None)[1] == "linux/amd64"
    assert choose_platform(parent, "linux/arm64")[1] == "linux/arm64/v8"
    with pytest.raises(SquashHTTPError) as err:
        choose_platform(parent, "linux/s390x")
    assert err.value.status == 404
    assert err.value.detail == {"available": ["linux/arm64/v8", "linux/amd64"]}


def test_it_needs_a_platform_when_an_index_has_no_default(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64", "linux/ppc64le"])
    with pytest.raises(SquashHTTPError) as err:
        choose_platform(parent, None)
    assert "linux/arm64, linux/ppc64le" in str(err.value)


def test_it_takes_the_only_platform_of_an_index(tiny):
    tag, _ = tiny
    parent = _index(tag.repository, ["linux/arm64"])
    assert choose_platform(parent, None)[1] == "linux/arm64"


@pytest.fixture
def robot_auth(tiny):
    from quaysquash.accounts.models import RepositoryPermission, RobotAccount

    tag, _ = tiny
    robot = RobotAccount(namespace=tag.repository.namespace, short_name="deployer")
    robot.save()
    RepositoryPermission.objects.create(repository=tag.repository, robot=robot, role="read")
    import base64

    token = base64.b64encode(f"{robot.full_name}:{robot.token}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_it_hands_a_cached_squash_to_nginx_when_configured(tiny, robot_auth, client, settings):
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag), tag.manifest, None)
    assert build.build(image.pk, "t") == "ready"
    image.refresh_from_db()
    settings.QS_SQUASH_X_ACCEL_PREFIX = "/_squash/"
    response = client.get("/c1/squash/acme/tiny/v1", **robot_auth)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_squash/{image.file_name}"
    assert response["ETag"] == f'"{image.sha256}"'
    assert response.content == b""


def test_it_keeps_load_or_index_public_and_stores_each_index_once(tiny, squash_dirs):
    _, layout = tiny
    digest = layer_digests(layout)[0]
    index = build.load_or_index(digest)
    assert cache.index_exists(digest)
    build.load_or_index.cache_clear()
    again = build.load_or_index(digest)  # from the shared storage, not recomputed
    assert again.to_bytes() == index.to_bytes()


def test_it_reports_the_state_of_a_key(tiny, robot_auth, client):
    url = "/api/v1/repository/acme/tiny/tag/v1/squash?format=oci"
    assert client.get(url, **robot_auth).json()["state"] == "missing"
    tag, _ = tiny
    image, _ = cache.ensure_build(_key(tag, "oci"), tag.manifest, None)
    body = client.get(url, **robot_auth).json()
    assert (body["state"], body["size"], body["bytes_written"]) == ("building", None, 0)
    assert build.build(image.pk, "t") == "ready"
    body = client.get(url, **robot_auth).json()
    assert body["state"] == "ready" and body["bytes_written"] == body["size"] > 0


def test_it_requires_a_csrf_token_for_session_priming(tiny, settings):
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("root", password="pw-secret-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = "/api/v1/repository/acme/tiny/tag/v1/squash"
    assert browser.post(url).status_code == 403
    assert browser.get(url).status_code == 200
    token = "a" * 32  # what the page's csrftoken cookie holds, sent back as X-CSRFToken
    browser.cookies["csrftoken"] = token
    primed = browser.post(url, headers={"X-CSRFToken": token})
    assert primed.status_code == 202 and primed.json()["state"] == "building"


def test_it_names_a_digest_pull_after_a_tag_on_that_manifest(tiny, robot_auth, rf, settings):
    from quaysquash.squash.resolve import Options, resolve

    tag, _ = tiny
    request = rf.get("/", **robot_auth)
    options = Options(None, "docker", "none")
    target = resolve(request, "acme", "tiny", None, tag.manifest.digest, options)
    assert target.repo_tag == f"{settings.QS_SERVER_HOSTNAME}/acme/tiny:v1"
    assert target.tag == ""  # the audit log still records a digest pull


def test_it_shows_squashes_and_pull_logs_read_only_in_the_admin(tiny, admin_client):
    from quaysquash.squash.models import PullLog

    tag, _ = tiny
    cache.ensure_build(_key(tag), tag.manifest, None)
    log = PullLog.objects.create(
        principal="acme+deployer",
        principal_kind="robot",
        repository=tag.repository,
        repository_name="acme/tiny",
        tag="v1",
        manifest_digest=tag.manifest.digest,
        format="docker",
        compression="none",
        source="cache",
        status=200,
        bytes_sent=10,
        complete=True,
        duration=0.1,
    )
    listing = admin_client.get(
        "/admin/squash/pulllog/?source__exact=cache&principal_kind__exact=robot"
    )
    assert listing.status_code == 200 and b"acme+deployer" in listing.content
    assert admin_client.get("/admin/squash/pulllog/add/").status_code == 403
    detail = admin_client.get(f"/admin/squash/pulllog/{log.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert admin_client.get("/admin/squash/squashedimage/").status_code == 200

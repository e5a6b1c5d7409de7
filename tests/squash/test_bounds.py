"""quaysquash.squash.bounds: the build's own bounds (engine_limits, check_free_space) and how
failed builds are remembered (failure_fields, with cache.may_retry and cache.ensure_build), on
the pytest-django database with a real storage directory and the real engine; no servers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from quaysquash.registry.storage import get_storage
from quaysquash.squash import bounds, build, cache
from quaysquash.squash.models import SquashedImage
from quaysquash.storage import get_storage as get_driver

from .conftest import cache_key
from .images import layer_digests


def _failed_build(tag) -> SquashedImage:
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert build.build(image.pk, "task-1") == "failed"
    image.refresh_from_db()
    return image


def test_it_passes_the_limit_settings_to_the_engine(settings):
    settings.QS_SQUASH_MAX_HEADER_BYTES = 4096
    settings.QS_SQUASH_MAX_INFLATION_RATIO = 7
    limits = bounds.engine_limits()
    assert (limits.max_header_bytes, limits.max_inflation_ratio) == (4096, 7)
    assert limits.max_output_bytes == settings.QS_SQUASH_MAX_OUTPUT_BYTES


def test_it_remembers_a_content_failure_instead_of_rebuilding(
    tiny, settings, django_capture_on_commit_callbacks
):
    tag, _ = tiny
    settings.QS_SQUASH_MAX_OUTPUT_BYTES = 1000  # the plan is bigger: refused before a byte
    image = _failed_build(tag)
    assert image.failure == "content" and "max_output_bytes=1000" in image.error
    remembered = image.retry_after - timezone.now()
    assert timedelta(hours=23) < remembered <= timedelta(hours=24)
    assert list(get_driver().list("squash/partial/")) == []
    with django_capture_on_commit_callbacks() as callbacks:
        again, started = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert (again.pk, again.state, started, again.attempt) == (image.pk, "failed", False, 1)
    assert callbacks == []  # nothing queued
    # Once the memory expires, the key is built again (one new attempt).
    SquashedImage.objects.filter(pk=image.pk).update(retry_after=timezone.now())
    with django_capture_on_commit_callbacks() as callbacks:
        again, started = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert started and again.attempt == 2 and again.failure == "" and again.retry_after is None
    assert len(callbacks) == 1


def test_it_backs_off_a_transient_failure_and_retries_it(tiny, settings):
    tag, layout = tiny
    settings.QS_SQUASH_RETRY_BASE_SECONDS = 30
    digest = layer_digests(layout)[0]
    blob = settings.QS_STORAGE_ROOT / get_storage().key(digest)
    saved = blob.read_bytes()
    blob.unlink()  # storage trouble, not the image's fault
    image = _failed_build(tag)
    assert image.failure == "transient" and "missing from storage" in image.error
    assert timedelta(seconds=25) < image.retry_after - timezone.now() <= timedelta(seconds=30)
    assert cache.ensure_build(cache_key(tag), tag.manifest, None)[1] is False  # backing off
    blob.write_bytes(saved)
    SquashedImage.objects.filter(pk=image.pk).update(retry_after=timezone.now())
    again, started = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert started
    assert build.build(again.pk, "task-2") == "ready"
    # The wait doubles with every attempt, up to the maximum.
    fields = bounds.failure_fields(OSError("down"), 3)
    assert fields["failure"] == "transient"
    assert timedelta(seconds=115) < fields["retry_after"] - timezone.now() <= timedelta(seconds=120)
    capped = bounds.failure_fields(OSError("down"), 60)["retry_after"] - timezone.now()
    assert capped <= timedelta(seconds=settings.QS_SQUASH_RETRY_MAX_SECONDS)


def test_it_refuses_a_build_the_cache_disk_cannot_hold_before_its_first_byte(tiny, settings):
    tag, _ = tiny
    settings.QS_SQUASH_MIN_FREE_BYTES = 1 << 62
    with pytest.raises(bounds.InsufficientSpaceError, match="not enough free space"):
        bounds.check_free_space(1)
    image = _failed_build(tag)
    assert image.failure == "transient" and "not enough free space" in image.error
    assert image.size is None  # no size announced: no follower sent headers
    assert list(get_driver().list("squash/partial/")) == []
    settings.QS_SQUASH_MIN_FREE_BYTES = 0
    bounds.check_free_space(1024)

"""quaysquash.squash.eviction on the pytest-django database, builds run in-process: least recently
used first, never a leased squash, and the orphans of dead attempts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from quaysquash.squash import build, cache, eviction
from quaysquash.squash.models import SquashedImage
from quaysquash.storage import get_storage

from .conftest import cache_key


def test_it_evicts_least_recently_used_first_and_never_one_leased(tiny, squash_dirs, settings):
    tag, _ = tiny
    images = []
    for fmt in ("docker", "oci", "rootfs"):
        image, _ = cache.ensure_build(cache_key(tag, fmt), tag.manifest, None)
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
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
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

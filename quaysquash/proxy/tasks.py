"""Celery tasks of pull-through: copying whole images in, expiring unused ones."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Manifest

from . import expiry, fetching, images, upstream
from .models import CachedImage

log = logging.getLogger(__name__)

FETCH_TASK = "quaysquash.proxy.tasks.fetch_image"
EXPIRE_TASK = "quaysquash.proxy.tasks.expire_cached_images"


@shared_task(name=FETCH_TASK, ignore_result=True)
def fetch_image(repository_id: int, manifest_digest: str) -> None:
    """Copy every blob of a pulled-through manifest (all platforms of an index) into storage.

    Guarantees: when it returns normally, every config and layer the manifest references is in
    storage, each verified against its digest, and its ``CachedImage`` is marked complete; a
    blob that another process is copying is waited for, never copied twice at once. When the
    upstream sends bytes that do not match a digest, the image is dropped from the cache (tags
    and manifests removed, nothing of the bad blob kept) so the next pull asks again. When the
    upstream is unreachable the error is recorded on the ``CachedImage`` and the blobs still
    missing are fetched by the next pull that needs them. Safe to run twice.
    """
    repository = (
        Repository.objects.select_related("namespace__proxy").filter(pk=repository_id).first()
    )
    manifest = Manifest.objects.filter(repository_id=repository_id, digest=manifest_digest).first()
    if repository is None or manifest is None or not hasattr(repository.namespace, "proxy"):
        return  # expired or deleted meanwhile
    try:
        fetching.ensure_image(repository.namespace.proxy, repository, manifest)
    except upstream.UpstreamDigestMismatch as exc:
        log.error("proxy %s: %s; dropping %s", repository.full_name, exc, manifest_digest)
        images.drop(repository, manifest_digest)
        return
    except upstream.UpstreamError as exc:
        log.warning("proxy %s: fetching %s failed: %s", repository.full_name, manifest_digest, exc)
        CachedImage.objects.filter(repository=repository, digest=manifest_digest).update(
            error=str(exc)[:2000]
        )
        return
    fetching.mark_complete(repository, manifest_digest)


@shared_task(name=EXPIRE_TASK, ignore_result=True)
def expire_cached_images() -> int:
    """Remove pulled-through images nobody pulled for ``QS_PROXY_EXPIRE_DAYS`` days.

    Guarantees: each such image's tags are ended and its manifests deleted (as a registry
    ``DELETE`` by digest does), its squashed images are removed from the squash cache unless a
    download holds one open (the next run retries), and it is forgotten; blobs are left to the
    garbage collector. Images used since the cutoff are untouched. Safe to run concurrently
    with pulls: a pull racing with it fetches the image again. Returns how many were removed.
    """
    days = settings.QS_PROXY_EXPIRE_DAYS
    if days <= 0:
        return 0
    return expiry.expire(timezone.now() - timezone.timedelta(days=days))

"""Manifests from the upstream into a proxy repository: fetched, checked, stored, tagged.

A pulled manifest is stored synchronously (the client is waiting for it), together with every
child of an index and ``Blob`` rows for everything they reference; the bytes of those blobs
arrive afterwards (``tasks.fetch_image``, or a blob ``GET`` that cannot wait). Nothing is stored
unless the whole manifest tree arrived, parsed, matched its digests and stays within the limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from quaysquash.accounts.models import Repository, RepositoryPermission
from quaysquash.registry import errors
from quaysquash.registry.access import create_repository
from quaysquash.registry.manifests import (
    delete_manifest,
    is_digest,
    link_blob,
    parse_manifest,
    set_tag,
    store_manifest,
    validate_tag_name,
)
from quaysquash.registry.models import Manifest, Tag

from . import upstream
from .errors import from_upstream
from .models import CachedImage, ProxyOrganization, ProxyTag

log = logging.getLogger(__name__)

# Nested indexes are legal but rare; deeper trees are refused rather than followed forever.
MAX_DEPTH = 3
TOUCH_EVERY = timedelta(seconds=60)


@dataclass
class Fetched:
    # Children before parents, so each index is stored after the manifests it lists.
    manifests: list[upstream.UpstreamManifest]

    @property
    def top(self) -> upstream.UpstreamManifest:
        return self.manifests[-1]


def fetch_tree(
    client: upstream.UpstreamClient, upstream_repo: str, reference: str, depth: int = 0
) -> Fetched:
    """The manifest ``reference`` names upstream and, for an index, all its children."""
    max_manifest = settings.QS_PROXY_MAX_MANIFEST_BYTES
    max_blob = settings.QS_PROXY_MAX_BLOB_BYTES
    got = client.get_manifest(upstream_repo, reference, max_manifest)
    # Some registries label manifests application/json; the body's mediaType is what counts.
    content_type = None if b'"mediaType"' in got.raw else (got.media_type or None)
    try:
        parsed = parse_manifest(got.raw, content_type)
    except errors.RegistryError as exc:
        raise upstream.UpstreamInvalid(f"upstream sent an invalid manifest: {exc}") from None
    got.media_type = parsed.media_type
    manifests: list[upstream.UpstreamManifest] = []
    if parsed.children:
        if depth >= MAX_DEPTH:
            raise upstream.UpstreamInvalid("upstream index nests deeper than we follow")
        seen: set[str] = set()
        for child in parsed.children:
            if child.digest not in seen:
                seen.add(child.digest)
                manifests.extend(
                    fetch_tree(client, upstream_repo, child.digest, depth + 1).manifests
                )
    for desc in [parsed.config, *parsed.layers]:
        if desc is not None and desc.size > max_blob:
            raise upstream.UpstreamTooLarge(
                f"blob {desc.digest} of {upstream_repo} is {desc.size} bytes, "
                f"over the {max_blob}-byte limit"
            )
    manifests.append(got)
    return Fetched(manifests)


def _new_repository(proxy: ProxyOrganization, name: str) -> Repository:
    repository = create_repository(proxy.namespace, name)
    if repository.is_public != proxy.public_repositories:
        repository.is_public = proxy.public_repositories
        repository.save(update_fields=["is_public"])
    # The organization's own principals may read what any of them pulled through (see
    # permissions.py); admins can narrow that per repository afterwards.
    for robot in proxy.namespace.robots.all():
        RepositoryPermission.objects.get_or_create(
            repository=repository, robot=robot, defaults={"role": "read"}
        )
    for user in proxy.namespace.members.all():
        RepositoryPermission.objects.get_or_create(
            repository=repository, user=user, defaults={"role": "read"}
        )
    return repository


def _store(repository: Repository, fetched: Fetched) -> Manifest:
    manifest = None
    for item in fetched.manifests:
        parsed = parse_manifest(item.raw, item.media_type)
        for desc in [parsed.config, *parsed.layers]:
            if desc is not None:
                # The bytes come later; the row lets the manifest reference the blob now.
                link_blob(repository, desc.digest, desc.size, desc.media_type)
        manifest = store_manifest(repository, item.raw, item.media_type)
    assert manifest is not None
    CachedImage.objects.get_or_create(repository=repository, digest=manifest.digest)
    return manifest


def _enqueue_fetch(repository: Repository, digest: str) -> None:
    from .tasks import fetch_image

    transaction.on_commit(lambda: fetch_image.delay(repository.pk, digest))


def touch(repository: Repository, digest: str) -> None:
    now = timezone.now()
    CachedImage.objects.filter(
        repository=repository, digest=digest, last_used__lt=now - TOUCH_EVERY
    ).update(last_used=now)


def _active_tag(repository: Repository | None, tag: str) -> Tag | None:
    if repository is None:
        return None
    return (
        Tag.objects.active()
        .filter(repository=repository, name=tag, manifest__deleted__isnull=True)
        .select_related("manifest")
        .first()
    )


def refresh(
    proxy: ProxyOrganization, repository: Repository | None, name: str, reference: str
) -> Manifest:
    """The manifest ``reference`` names in proxy repository ``name``, fetched or re-checked
    upstream as needed; the repository is created when the upstream has the image.

    Raises a registry error (``MANIFEST_UNKNOWN`` for a 404 upstream, ``UpstreamFailed``
    otherwise) only when nothing usable is cached.
    """
    if is_digest(reference):
        if repository is not None:
            found = Manifest.objects.filter(repository=repository, digest=reference).first()
            if found is not None:
                touch(repository, found.digest)
                return found  # content-addressed: never needs the upstream again
        return _fetch_and_store(proxy, repository, name, reference, tag=None)
    validate_tag_name(reference)
    active = _active_tag(repository, reference)
    if active is None:
        return _fetch_and_store(proxy, repository, name, reference, tag=reference)
    assert repository is not None
    state = ProxyTag.objects.filter(repository=repository, name=reference).first()
    staleness = timedelta(seconds=settings.QS_PROXY_STALENESS_SECONDS)
    if state is not None and timezone.now() - state.checked < staleness:
        touch(repository, active.manifest.digest)
        return active.manifest
    client = proxy.client()
    try:
        announced = client.head_manifest(name, reference)
        if announced == active.manifest.digest:
            ProxyTag.objects.update_or_create(
                repository=repository,
                name=reference,
                defaults={"upstream_digest": announced, "checked": timezone.now()},
            )
            touch(repository, active.manifest.digest)
            return active.manifest
        return _fetch_and_store(proxy, repository, name, reference, tag=reference, client=client)
    except (upstream.UpstreamError, errors.RegistryError) as exc:
        # Unreachable, 404, 5xx, refused: the cached image is still the best answer.
        log.warning(
            "proxy %s:%s: upstream check failed (%s); serving the cached %s",
            repository.full_name,
            reference,
            exc,
            active.manifest.digest,
        )
        touch(repository, active.manifest.digest)
        return active.manifest
    finally:
        client.close()


def _fetch_and_store(
    proxy: ProxyOrganization,
    repository: Repository | None,
    name: str,
    reference: str,
    tag: str | None,
    client: upstream.UpstreamClient | None = None,
) -> Manifest:
    own = client or proxy.client()
    try:
        fetched = fetch_tree(own, name, reference)
    except upstream.UpstreamError as exc:
        raise from_upstream(exc, reference) from None
    finally:
        if client is None:
            own.close()
    with transaction.atomic():
        repository = repository or _new_repository(proxy, name)
        manifest = _store(repository, fetched)
        if tag is not None:
            set_tag(repository, tag, manifest)
            ProxyTag.objects.update_or_create(
                repository=repository,
                name=tag,
                defaults={"upstream_digest": manifest.digest, "checked": timezone.now()},
            )
        touch(repository, manifest.digest)
        _enqueue_fetch(repository, manifest.digest)
    log.info("proxy %s: stored %s for %s", repository.full_name, manifest.digest, reference)
    return manifest


def drop(repository: Repository, digest: str) -> list[str]:
    """Remove a cached image: untag it, delete its manifest (and children no other live
    manifest lists), forget its freshness rows. Blobs stay for the garbage collector."""
    manifest = Manifest.objects.filter(repository=repository, digest=digest).first()
    tags: list[str] = []
    with transaction.atomic():
        if manifest is not None:
            children = [c.child for c in manifest.children.select_related("child")]
            tags = delete_manifest(repository, digest)
            for child in children:
                still_listed = child.parents.filter(parent__deleted__isnull=True).exists()
                if (
                    not still_listed
                    and child.deleted is None
                    and not child.tags.filter(lifetime_end__isnull=True).exists()
                ):
                    delete_manifest(repository, child.digest)
        ProxyTag.objects.filter(repository=repository, name__in=tags).delete()
        CachedImage.objects.filter(repository=repository, digest=digest).delete()
    return tags

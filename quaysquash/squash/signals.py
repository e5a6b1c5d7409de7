"""Reactions to pushes: index the new layers, and auto-prime repositories that opted in."""

from __future__ import annotations

import logging

from django.conf import settings

log = logging.getLogger(__name__)


def _layer_digests(manifest) -> list[str]:
    from quaysquash.registry.models import ManifestLayer

    manifests = [manifest]
    if manifest.is_index:
        manifests = [child.child for child in manifest.children.select_related("child")]
    return list(
        ManifestLayer.objects.filter(manifest__in=manifests)
        .values_list("blob__digest", flat=True)
        .distinct()
    )


def on_tag_pushed(sender, tag, **kwargs) -> None:
    """Queue the indexing of layers not indexed yet (a later cold pull then starts at once),
    and prime the default squash (default platform, docker, uncompressed) when the repository
    has ``auto_prime``. Never fails the push."""
    try:
        if settings.QS_SQUASH_INDEX_ON_PUSH:
            from . import cache
            from .tasks import index_layer

            for digest in _layer_digests(tag.manifest):
                if not cache.index_exists(digest):
                    # Sent after the tag's commit already; with the broker down the first
                    # failure ends the loop, so a push never waits once per layer.
                    index_layer.delay(digest)
        if tag.repository.auto_prime:
            from . import priming

            priming.prime_tag(tag.repository, tag.name)
    except Exception as exc:  # a push must never fail because of squash bookkeeping
        log.warning("squash work after pushing %s failed: %s", tag, exc)


def connect() -> None:
    try:
        from quaysquash.registry.signals import tag_pushed
    except ImportError:
        log.debug("quaysquash.registry.signals not available; auto-prime disabled")
        return
    tag_pushed.connect(on_tag_pushed, dispatch_uid="squash-on-tag-pushed")

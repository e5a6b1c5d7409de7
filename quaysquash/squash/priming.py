"""Starting builds ahead of the first pull: the prime command, the API's POST, auto-prime."""

from __future__ import annotations

from django.conf import settings

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Tag

from . import cache
from .models import COMPRESSIONS, FORMATS, SquashedImage
from .resolve import SquashHTTPError, choose_platform, require_container_image


def prime_tag(
    repository: Repository,
    tag: str,
    platform: str | None = None,
    format: str = "docker",
    compression: str = "none",
) -> tuple[SquashedImage, bool]:
    """Start the build of a tag's squash unless it is ready or running: ``(entry, started)``.

    Raises SquashHTTPError for an unknown tag or platform (its message says what exists), or
    for a manifest that is not a container image (415 NOT_AN_IMAGE).
    """
    if format not in FORMATS or compression not in COMPRESSIONS:
        raise SquashHTTPError(400, "UNSUPPORTED", "unknown format or compression")
    found = Tag.objects.active().filter(repository=repository, name=tag).first()
    if found is None:
        raise SquashHTTPError(404, "MANIFEST_UNKNOWN", f"tag {tag} not found")
    image, resolved = choose_platform(found.manifest, platform)
    require_container_image(image)  # 415 before anything is queued
    key = cache.Key(repository, found.manifest.digest, resolved, format, compression)
    repo_tag = f"{settings.QS_SERVER_HOSTNAME}/{repository.full_name}:{tag}"
    return cache.ensure_build(key, image, repo_tag)

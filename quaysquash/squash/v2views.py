"""``/v2/squashed[-zstd]/<repo>/...``: squashed images through the distribution API.

Read-only: manifests (by tag or digest), blobs and tags/list; any write answers ``DENIED``.
Who may pull ``squashed/<repo>`` is exactly who may pull ``<repo>``, with the same answers for a
repository the caller cannot see as for a missing one (see ``registry/access.py``). A bearer
token works if it grants pull on either name.
"""

from __future__ import annotations

import functools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from quaysquash.core import serving
from quaysquash.registry import errors
from quaysquash.registry.access import (
    PULL,
    caller_from_request,
    challenge,
    find_repository,
    may,
    scope_allows,
)
from quaysquash.registry.manifests import is_digest, validate_tag_name
from quaysquash.registry.models import Manifest, Tag
from quaysquash.registry.views.base import check_digest, render_error, with_registry_headers
from quaysquash.registry.views.listing import paginate
from quaysquash.storage import get_storage

from . import cache, pullable
from .models import SquashedImage
from .pullmodels import SquashedManifest
from .pullnames import SquashedName

READ_ONLY = "squashed images are read-only: push to the source repository"
IMMUTABLE = "public, max-age=31536000, immutable"


def registry_endpoint(view):
    """CSRF-exempt like every registry view, OCI errors, the API version header, and writes
    refused before anything else happens."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, scheme: str, name: str, **kwargs) -> HttpResponse:
        try:
            if request.method not in ("GET", "HEAD"):
                raise errors.Denied(READ_ONLY)
            response = await view(request, SquashedName(scheme, name), **kwargs)
        except errors.RegistryError as exc:
            response = render_error(request, exc)
        return with_registry_headers(response)

    return csrf_exempt(wrapper)


def _authorize(request: HttpRequest, name: SquashedName):
    """The source repository if the caller may pull it (and the token, if any, allows it)."""
    caller = caller_from_request(request)
    namespace, repository = find_repository(name.source)
    if not may(caller.principal, namespace, repository, PULL):
        if caller.anonymous:
            scope = f"repository:{name.full_name}:pull"
            raise errors.Unauthorized(
                challenge=challenge(request, scope),
                detail=[{"Type": "repository", "Name": name.full_name, "Action": "pull"}],
            )
        raise errors.NameUnknown(detail={"name": name.full_name})
    if caller.claims is not None and not (
        scope_allows(caller.claims, name.full_name, PULL)
        or scope_allows(caller.claims, name.source, PULL)
    ):
        raise errors.Denied(
            "token does not grant this access",
            challenge=challenge(request, f"repository:{name.full_name}:pull", "insufficient_scope"),
        )
    if repository is None:
        raise errors.NameUnknown(detail={"name": name.full_name})
    return repository


authorize = sync_to_async(_authorize, thread_sensitive=False)


def _live(repository, digest: str) -> Manifest | None:
    return (
        Manifest.objects.filter(repository=repository, digest=digest, deleted__isnull=True)
        .select_related("config_blob")
        .first()
    )


def _by_tag(repository, tag: str) -> Manifest:
    validate_tag_name(tag)
    found = (
        Tag.objects.active()
        .filter(repository=repository, name=tag, manifest__deleted__isnull=True)
        .select_related("manifest__config_blob")
        .first()
    )
    if found is None:
        raise errors.ManifestUnknown(detail={"tag": tag})
    return found.manifest


def _by_digest(repository, digest: str) -> tuple[SquashedManifest, Manifest]:
    row = SquashedManifest.objects.filter(repository=repository, digest=digest).first()
    source = _live(repository, row.source_digest) if row is not None else None
    if row is None or source is None:
        raise errors.ManifestUnknown(detail={"digest": digest})
    return row, source


@registry_endpoint
async def manifest(request: HttpRequest, name: SquashedName, reference: str) -> HttpResponse:
    repository = await authorize(request, name)
    if is_digest(reference):
        check_digest(reference)
        row, source = await sync_to_async(_by_digest, thread_sensitive=False)(repository, reference)
        if row.compression != name.compression:
            # A gzip digest under squashed-zstd/ (or the reverse) names nothing there.
            raise errors.ManifestUnknown(detail={"digest": reference})
        form = "docker" if row.media_type == pullable.mt.DOCKER_MANIFEST else "oci"
        served = await pullable.squashed(repository, source, row.compression, form)
        if served.digest != reference:
            # A build that is not reproducible: never pass other bytes off under this digest.
            raise errors.RegistryError(
                f"the rebuilt squashed manifest has digest {served.digest}, not {reference}"
            )
    else:
        source = await sync_to_async(_by_tag, thread_sensitive=False)(repository, reference)
        form = pullable.form_for(request.META.get("HTTP_ACCEPT", ""), name.compression)
        served = await pullable.squashed(repository, source, name.compression, form)
    body = served.raw if request.method == "GET" else b""
    response = HttpResponse(body, content_type=served.media_type)
    response["Docker-Content-Digest"] = served.digest
    response["ETag"] = f'"{served.digest}"'
    response["Content-Length"] = str(len(served.raw))
    return response


def _tags(repository) -> list[str]:
    return sorted(
        Tag.objects.active()
        .filter(repository=repository, manifest__deleted__isnull=True)
        .values_list("name", flat=True)
    )


@registry_endpoint
async def tags_list(request: HttpRequest, name: SquashedName) -> HttpResponse:
    repository = await authorize(request, name)
    names = await sync_to_async(_tags, thread_sensitive=False)(repository)
    page, headers = paginate(request, names, f"/v2/{name.full_name}/tags/list")
    response = HttpResponse(
        pullable.dumps({"name": name.full_name, "tags": page}), content_type="application/json"
    )
    for header, value in headers.items():
        response[header.replace("_", "-")] = value
    return response


def _find_blob(repository, digest: str):
    """("config", bytes) or ("layer", ready row or mapping row); BlobUnknown otherwise."""
    row = SquashedManifest.objects.filter(repository=repository, config_digest=digest).first()
    if row is not None:
        source = _live(repository, row.source_digest)
        if source is not None:
            config = pullable.squashed_config(
                pullable._source_config(source), row.diff_id, source.digest
            )
            if pullable.sha256(config) == digest:
                return "config", config
    image = SquashedImage.objects.filter(
        repository=repository, format="rootfs", state=SquashedImage.State.READY, sha256=digest
    ).first()
    if image is not None:
        return "layer", image
    row = SquashedManifest.objects.filter(repository=repository, layer_digest=digest).first()
    source = _live(repository, row.source_digest) if row is not None else None
    if source is None:
        raise errors.BlobUnknown(detail={"digest": digest})
    return "rebuild", (source, row.compression)


def _touch(image_id: int) -> None:
    SquashedImage.objects.filter(pk=image_id).update(last_accessed=timezone.now())


def _restart(image: SquashedImage) -> Manifest:
    cache.restart(image)
    return Manifest.objects.select_related("config_blob").get(pk=image.image_manifest_id)


def _layer_response(request, image: SquashedImage, digest: str) -> HttpResponse:
    compression = image.compression
    stored = serving.Stored(
        key=cache.object_key(image.file_name),
        size=image.size or 0,
        etag=f'"{digest}"',
        content_type=pullable.LAYER_TYPES[("oci", compression)],
        headers={"Docker-Content-Digest": digest, "Cache-Control": IMMUTABLE},
    )
    prefix = settings.QS_SQUASH_X_ACCEL_PREFIX
    try:
        return serving.respond(
            request,
            get_storage(),
            stored,
            body=request.method == "GET",
            x_accel=f"{prefix.rstrip('/')}/{image.file_name}" if prefix else None,
            keepalive=lambda: _touch(image.pk),
        )
    except serving.RangeNotSatisfiable as exc:
        raise errors.RangeInvalid(headers=exc.headers) from exc


@registry_endpoint
async def blob(request: HttpRequest, name: SquashedName, digest: str) -> HttpResponse:
    repository = await authorize(request, name)
    check_digest(digest)
    kind, found = await sync_to_async(_find_blob, thread_sensitive=False)(repository, digest)
    if kind == "config":
        response = HttpResponse(found if request.method == "GET" else b"")
        response["Content-Type"] = pullable.mt.OCI_CONFIG
        response["Content-Length"] = str(len(found))
        response["Docker-Content-Digest"] = digest
        response["ETag"] = f'"{digest}"'
        response["Cache-Control"] = IMMUTABLE
        return response
    if kind == "rebuild":
        source, compression = found
        found = await pullable.ready_squash(repository, source, compression)
    for attempt in range(2):
        if found.sha256 != digest:
            raise errors.BlobUnknown(detail={"digest": digest})
        await sync_to_async(_touch, thread_sensitive=False)(found.pk)
        try:
            return await sync_to_async(_layer_response, thread_sensitive=False)(
                request, found, digest
            )
        except FileNotFoundError:
            if attempt:
                raise errors.BlobUnknown(detail={"digest": digest}) from None
            # The row outlived its object (eviction in progress): build it again.
            source = await sync_to_async(_restart, thread_sensitive=False)(found)
            found = await pullable.ready_squash(repository, source, found.compression)
    raise errors.BlobUnknown(detail={"digest": digest})


@registry_endpoint
async def read_only(request: HttpRequest, name: SquashedName, rest: str = "") -> HttpResponse:
    # Reached by GET/HEAD only (writes are refused by the wrapper): no such endpoint here.
    raise errors.Unsupported(f"{name.full_name} serves manifests, blobs and tags/list only")

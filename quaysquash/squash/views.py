"""``/c1/squash/...`` (the pull) and the priming/status API used by the Fetch Tag page."""

from __future__ import annotations

import logging
import time

from asgiref.sync import sync_to_async
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import cache, delivery
from .models import SquashedImage
from .resolve import Options, SquashHTTPError, Target, resolve, split_repository

log = logging.getLogger(__name__)

# last_accessed drives LRU eviction; minute precision is plenty and saves a write per pull.
TOUCH_EVERY_SECONDS = 60


def _target(request, repository: str, tag: str | None, digest: str | None) -> Target:
    """Who asks for which squash, from the path and the query; SquashHTTPError otherwise."""
    namespace, name = split_repository(repository)
    return resolve(request, namespace, name, tag, digest, Options.from_query(request.GET))


def _prepare(request, repository: str, tag: str | None, digest: str | None):
    target = _target(request, repository, tag, digest)
    for _ in range(3):
        image, _started = cache.ensure_build(target.key, target.image_manifest, target.repo_tag)
        if not _lease_lost(image):
            break
    return target, image


def _lease_lost(image: SquashedImage) -> bool:
    """Renew a ready squash's lease (``last_accessed``); True if eviction took it meanwhile.

    Eviction only takes rows whose lease is older than its grace period (well above
    TOUCH_EVERY_SECONDS) with a DELETE conditional on the lease it saw, and this UPDATE only
    succeeds on a row still there: the database orders the two, so a pull either renewed in
    time (and the squash stays) or finds the row gone (and rebuilds), on any host.
    """
    if image.state != SquashedImage.State.READY:
        return False
    if (timezone.now() - image.last_accessed).total_seconds() <= TOUCH_EVERY_SECONDS:
        return False
    now = timezone.now()
    renewed = SquashedImage.objects.filter(
        pk=image.pk, state=SquashedImage.State.READY, last_accessed=image.last_accessed
    ).update(last_accessed=now)
    if renewed:
        image.last_accessed = now
        return False
    return not SquashedImage.objects.filter(pk=image.pk, state=SquashedImage.State.READY).exists()


async def pull(
    request, repository: str, tag: str | None = None, digest: str | None = None
) -> HttpResponse:
    """The squashed image as one archive, from the cache or streamed while it is built."""
    started = time.monotonic()
    if request.method == "HEAD":
        return await sync_to_async(_head)(request, repository, tag, digest)
    if request.method != "GET":
        return SquashHTTPError(405, "UNSUPPORTED", "method not allowed").response()
    try:
        target, image = await sync_to_async(_prepare)(request, repository, tag, digest)
    except SquashHTTPError as err:
        return err.response()
    try:
        return await _deliver(request, target, image, started)
    except SquashHTTPError as err:
        # The caller could read the image but we could not deliver it (a failed build): that
        # is a pull attempt worth auditing, unlike a refused or unknown name.
        source = "cache" if image.state == SquashedImage.State.READY else "build"
        delivery.record_pull(target, request, started, source=source, status=err.status)
        return err.response()


def _head(request, repository: str, tag: str | None, digest: str | None) -> HttpResponse:
    try:
        target = _target(request, repository, tag, digest)
    except SquashHTTPError as err:
        return err.response()
    image = SquashedImage.objects.filter(**target.key.lookup()).first()
    return delivery.head_response(request, target, image)


async def _deliver(request, target: Target, image: SquashedImage, started: float):
    # A few rounds at most: a build finishing (segments gone) or a vanished object (rebuild)
    # between our lookup and our open sends us around again.
    for _ in range(5):
        if image.state == SquashedImage.State.READY:
            try:
                return await sync_to_async(delivery.serve_cached, thread_sensitive=False)(
                    request, target, image, started
                )
            except FileNotFoundError:
                # The row says ready but the object is gone (deleted by hand, or a bucket
                # restored without it): rebuild, exactly once across all hosts.
                await sync_to_async(cache.restart)(image)
                continue
        image = await delivery.wait_for_plan(image)
        if image.state == SquashedImage.State.READY:
            continue
        try:
            return delivery.follow_build(request, target, image, started)
        except FileNotFoundError:
            image = await delivery.get_row(image.pk)
            if image is None:
                break
    raise SquashHTTPError(503, "SQUASH_UNAVAILABLE", "the squash is not available; retry")


# --- Priming and status API (/api/v1/repository/<ns>/<repo>/tag/<tag>/squash) ---------------


def state_of(image: SquashedImage | None) -> dict:
    if image is None:
        return {"state": "missing", "bytes_written": 0, "size": None, "error": ""}
    state, error = image.state, image.error
    if image.is_stale:
        state, error = "failed", "the build worker stopped responding; the next pull retries"
    return {
        "state": state,
        "bytes_written": image.size if state == "ready" else image.bytes_written,
        "size": image.size,
        "error": error,
        "sha256": image.sha256,
        "platform": image.platform,
        "format": image.format,
        "compression": image.compression,
        "manifest_digest": image.manifest_digest,
        "builds": image.attempt,
        # For a failed build: "content" (the image; remembered) or "transient", and when the
        # next request builds it again.
        "failure": image.failure if state == "failed" else "",
        "retry_after": image.retry_after.isoformat()
        if state == "failed" and image.retry_after
        else None,
    }


def _check_csrf(request) -> HttpResponse | None:
    # Session callers (the UI) need a CSRF token; Basic-auth callers (curl, scripts) do not.
    if request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("basic "):
        return None
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return None
    return CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})


@csrf_exempt
def squash_state(request, repository: str, tag: str) -> HttpResponse:
    """GET: the cache state of a tag's squash for the query's platform/format/compression.
    POST: prime it (start the build unless ready or running) and answer the same state."""
    if request.method not in ("GET", "POST"):
        return SquashHTTPError(405, "UNSUPPORTED", "method not allowed").response()
    try:
        target = _target(request, repository, tag, None)
    except SquashHTTPError as err:
        return err.response()
    if request.method == "POST":
        rejected = _check_csrf(request)
        if rejected is not None:
            return rejected
        try:
            image, started = cache.ensure_build(target.key, target.image_manifest, target.repo_tag)
        except SquashHTTPError as err:  # the build queue is down: 503, not a 500 page
            return err.response()
        body = state_of(image)
        body["started"] = started
        return JsonResponse(body, status=202 if body["state"] != "ready" else 200)
    image = SquashedImage.objects.filter(**target.key.lookup()).first()
    return JsonResponse(state_of(image))

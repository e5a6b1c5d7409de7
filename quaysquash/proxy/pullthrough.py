"""The hooks the registry and the squash delivery call: one per view, each a no-op outside
proxy organizations.

They run *before* the ordinary lookup and only make sure the content is there: the ordinary
code then authorizes, finds and serves it exactly as for a pushed image. So a cached image is
served by the same code, with the same permission checks, as any other.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError
from django.http import HttpResponse

from quaysquash.accounts.models import Repository
from quaysquash.accounts.principals import Principal
from quaysquash.registry import errors
from quaysquash.registry.access import (
    PULL,
    caller_from_request,
    may,
    scope_allows,
)
from quaysquash.registry.models import Blob, Manifest, Tag
from quaysquash.registry.storage import DIGEST_RE

from . import blobstore, fetching, images, relay, upstream
from .errors import PushRefused, from_upstream
from .models import ProxyOrganization
from .permissions import may_pull_through

log = logging.getLogger(__name__)


def proxy_of(namespace_name: str) -> ProxyOrganization | None:
    return (
        ProxyOrganization.objects.select_related("namespace")
        .filter(namespace__name=namespace_name)
        .first()
    )


def _proxy_for(full_name: str) -> tuple[ProxyOrganization | None, str]:
    namespace, _, name = full_name.partition("/")
    if not name:
        return None, ""
    return proxy_of(namespace), name


def refuse_push(full_name: str) -> None:
    """Pushes (uploads, manifest PUTs) into a proxy organization answer ``DENIED``."""
    proxy, _ = _proxy_for(full_name)
    if proxy is not None:
        raise PushRefused(detail={"name": full_name})


def _readable(
    principal: Principal, proxy: ProxyOrganization, name: str
) -> tuple[bool, Repository | None]:
    """Whether ``principal`` may have ``name`` pulled through, and the repository if it exists."""
    repository = Repository.objects.filter(namespace=proxy.namespace, name=name).first()
    if repository is not None:
        repository.namespace = proxy.namespace
        return may(principal, proxy.namespace, repository, PULL), repository
    return may_pull_through(principal, proxy.namespace), None


def _refresh(
    proxy: ProxyOrganization, repository: Repository | None, name: str, reference: str
) -> Manifest:
    try:
        return images.refresh(proxy, repository, name, reference)
    except IntegrityError:
        # Two first pulls of one name raced to create it; the other one stored it.
        repository = Repository.objects.filter(namespace=proxy.namespace, name=name).first()
        return images.refresh(proxy, repository, name, reference)


def manifest_for(request, full_name: str, reference: str) -> None:
    """Before a manifest ``GET``/``HEAD``: in a proxy organization, fetch the manifest from the
    upstream when it is not cached, or re-check a stale tag. Callers who may not read (or
    create) the repository are left to the ordinary answer, and nothing is fetched for them."""
    proxy, name = _proxy_for(full_name)
    if proxy is None:
        return
    caller = caller_from_request(request)
    allowed, repository = _readable(caller.principal, proxy, name)
    if not allowed:
        return
    if caller.claims is not None and not scope_allows(caller.claims, full_name, PULL):
        return
    _refresh(proxy, repository, name, reference)


def blob_for(request, full_name: str, digest: str) -> HttpResponse | None:
    """Before a blob ``GET``/``HEAD``: a blob a cached manifest references but whose bytes have
    not arrived yet comes from the upstream now. A whole-blob ``GET`` of a large blob is relayed
    to the client while it is stored (the response is returned); otherwise, or when the fetch task or another
    request is copying it already, the copy is awaited and ``None`` returned for the ordinary
    view to answer. Once in storage a blob never touches the upstream again."""
    proxy, name = _proxy_for(full_name)
    if proxy is None or not DIGEST_RE.match(digest or ""):
        return None
    caller = caller_from_request(request)
    allowed, repository = _readable(caller.principal, proxy, name)
    if not allowed or repository is None:
        return None
    if caller.claims is not None and not scope_allows(caller.claims, full_name, PULL):
        return None
    if blobstore.has_blob(digest):
        return None
    blob = Blob.objects.filter(digest=digest, repository_links__repository=repository).first()
    if blob is None:
        return None
    try:
        if (
            request.method == "GET"
            and not request.META.get("HTTP_RANGE")
            and blob.size >= relay.RELAY_MIN_BYTES
        ):
            relayed = relay.relay(request, proxy, repository, blob)
            if relayed is not None:
                return relayed
        fetching.ensure_blob(proxy, repository, blob)
    except upstream.UpstreamError as exc:
        raise from_upstream(exc, digest) from None
    return None


def squash_source(
    principal: Principal,
    namespace: str,
    name: str,
    tag: str | None,
    digest: str | None,
    platform: str | None,
) -> None:
    """Before a squash is resolved: in a proxy organization, make sure the manifest is cached
    and fresh and every blob of the platform's image is in storage, so the build never waits
    for the upstream. Errors come out as the squash delivery's own."""
    from quaysquash.squash.resolve import SquashHTTPError, choose_platform

    proxy = proxy_of(namespace)
    if proxy is None:
        return
    allowed, repository = _readable(principal, proxy, name)
    if not allowed:
        return
    try:
        manifest = _refresh(proxy, repository, name, digest or tag or "")
        if repository is None:
            repository = Repository.objects.get(namespace=proxy.namespace, name=name)
        try:
            # A single image's platform is read from its config: that must be here first.
            image = choose_platform(manifest, platform)[0] if manifest.is_index else manifest
        except SquashHTTPError:
            return  # resolve answers the same error with the platforms available
        try:
            fetching.ensure_image(proxy, repository, image)
        except upstream.UpstreamError as exc:
            raise from_upstream(exc, image.digest) from None
    except errors.RegistryError as exc:
        raise SquashHTTPError(exc.status, exc.code, str(exc), exc.detail) from None


def freshness(repository: Repository, tag: str):
    """When the upstream last confirmed ``tag`` (``None`` if never): for "cached N minutes ago"."""
    from .models import ProxyTag

    state = ProxyTag.objects.filter(repository=repository, name=tag).first()
    if state is None or not Tag.objects.active().filter(repository=repository, name=tag).exists():
        return None
    return state.checked

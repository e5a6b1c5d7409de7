"""Copying blobs from the upstream into storage: verified, single-flight across processes."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Blob, Manifest

from . import blobstore, upstream
from .models import BlobFetch, CachedImage, ProxyOrganization

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
POLL_SECONDS = 0.05
# Blobs of one image copied at once: enough to overlap hashing, writing and the network.
PARALLEL_COPIES = 4


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _claim(digest: str) -> bool:
    """Become the one process copying ``digest``; take over a row whose owner went silent."""
    stale = timezone.now() - timedelta(seconds=BlobFetch.STALE_SECONDS)
    BlobFetch.objects.filter(digest=digest, heartbeat__lt=stale).delete()
    try:
        with transaction.atomic():
            BlobFetch.objects.create(digest=digest, owner=_owner())
        return True
    except IntegrityError:
        return False


def _with_heartbeat(digest: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    last = time.monotonic()
    for chunk in chunks:
        yield chunk
        if time.monotonic() - last > HEARTBEAT_SECONDS:
            BlobFetch.objects.filter(digest=digest).update(heartbeat=timezone.now())
            last = time.monotonic()


def _copy(client: upstream.UpstreamClient, upstream_repo: str, blob: Blob) -> int:
    chunks = client.blob_chunks(
        upstream_repo, blob.digest, blob.size, settings.QS_PROXY_MAX_BLOB_BYTES
    )
    try:
        return blobstore.store_blob(blob.digest, _with_heartbeat(blob.digest, chunks))
    except blobstore.DigestMismatch as exc:
        raise upstream.UpstreamDigestMismatch(
            f"blob {blob.digest} of {upstream_repo}: upstream sent bytes with digest {exc.actual}"
        ) from None


def ensure_blob(
    proxy: ProxyOrganization,
    repository: Repository,
    blob: Blob,
    client: upstream.UpstreamClient | None = None,
) -> None:
    """Return once ``blob`` is in storage: copied here, or by whoever is copying it already.

    Raises :class:`~quaysquash.proxy.upstream.UpstreamError` when this process copied and it
    failed; storage is then unchanged.
    """
    while not blobstore.has_blob(blob.digest):
        if not _claim(blob.digest):
            time.sleep(POLL_SECONDS)
            continue
        try:
            if blobstore.has_blob(blob.digest):
                return  # finished between our check and our claim
            own = client or proxy.client()
            started = time.monotonic()
            size = _copy(own, repository.name, blob)
            log.info(
                "proxy %s: fetched %s (%d bytes) in %.1fs",
                repository.full_name,
                blob.digest,
                size,
                time.monotonic() - started,
            )
        finally:
            BlobFetch.objects.filter(digest=blob.digest, owner=_owner()).delete()
        return


def image_blobs(manifest: Manifest) -> list[Blob]:
    """Config and layers of an image, or of every child of an index, each once."""
    blobs: dict[str, Blob] = {}
    stack = [manifest]
    while stack:
        current = stack.pop()
        if current.is_index:
            stack.extend(c.child for c in current.children.select_related("child"))
            continue
        if current.config_blob_id is not None:
            blobs.setdefault(current.config_blob.digest, current.config_blob)
        for layer in current.layers.select_related("blob"):
            blobs.setdefault(layer.blob.digest, layer.blob)
    return list(blobs.values())


def _ensure_in_thread(proxy: ProxyOrganization, repository: Repository, blob: Blob) -> None:
    client = proxy.client()
    try:
        ensure_blob(proxy, repository, blob, client)
    finally:
        client.close()
        connections.close_all()  # this thread's own database connection


def ensure_image(proxy: ProxyOrganization, repository: Repository, manifest: Manifest) -> None:
    """Every blob of ``manifest`` in storage, copied a few at a time (largest first, so the
    longest copy starts at once); raises the first failure after all copies have ended."""
    missing = [b for b in image_blobs(manifest) if not blobstore.has_blob(b.digest)]
    missing.sort(key=lambda b: b.size, reverse=True)
    if len(missing) <= 1:
        for blob in missing:
            ensure_blob(proxy, repository, blob)
        return
    with ThreadPoolExecutor(max_workers=PARALLEL_COPIES) as pool:
        futures = [pool.submit(_ensure_in_thread, proxy, repository, b) for b in missing]
    for future in futures:
        future.result()


def mark_complete(repository: Repository, digest: str) -> None:
    CachedImage.objects.filter(repository=repository, digest=digest).update(
        complete=timezone.now(), error=""
    )

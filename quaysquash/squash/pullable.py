"""Squashed images as registry images: the manifest, config and index of ``squashed/<repo>``.

A squashed image is a pure function of its source manifest and the compression: one layer, the
squash cache's ``rootfs`` build compressed deterministically (``squashengine.blocks``), and a
config that is the source's with ``rootfs.diff_ids`` = [the merged tar's sha256] and the history
collapsed to one entry (no build time: ``created`` is the source's). So its digest is stable
across builds, workers and cache evictions, and a digest once served can always be served again
(:class:`~.pullmodels.SquashedManifest` remembers which source it came from).

The bytes are built by the ordinary single-flight squash build (:func:`.cache.ensure_build`);
a manifest request waits for it to finish (``QS_SQUASHED_PULL_WAIT_SECONDS``), since the
manifest names the layer's digest and size, which only the finished build knows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction

from quaysquash.accounts.models import Repository
from quaysquash.registry import errors
from quaysquash.registry import mediatypes as mt
from quaysquash.registry.models import Manifest
from quaysquash.storage import blob_key, get_storage

from . import cache
from .models import SquashedImage
from .pullmodels import SquashedManifest
from .resolve import SquashHTTPError, choose_platform

log = logging.getLogger(__name__)

SOURCE_ANNOTATION = "io.quaysquash.squashed.source.digest"
LAYER_TYPES = {
    ("oci", "gzip"): mt.OCI_LAYER_GZIP,
    ("oci", "zstd"): mt.OCI_LAYER_ZSTD,
    ("docker", "gzip"): mt.DOCKER_LAYER_GZIP,
}
POLL_SECONDS = 0.25


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def squashed_config(source_config: bytes, diff_id: str, source_digest: str) -> bytes:
    """The config of the squashed image: deterministic in its three inputs."""
    cfg = json.loads(source_config)
    history = [h for h in cfg.get("history") or [] if isinstance(h, dict)]
    created = cfg.get("created") or next(
        (h["created"] for h in reversed(history) if h.get("created")), None
    )
    entry: dict = {"created_by": f"quaysquash: squashed {source_digest}"}
    if created:
        entry = {"created": created, **entry}
    cfg["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
    cfg["history"] = [entry]
    runtime = cfg.get("config")
    if not isinstance(runtime, dict):
        runtime = cfg["config"] = {}
    labels = runtime.get("Labels")
    runtime["Labels"] = {
        **(labels if isinstance(labels, dict) else {}),
        SOURCE_ANNOTATION: source_digest,
    }
    return dumps(cfg)


def form_for(accept: str, compression: str) -> str:
    """``oci`` unless the client accepts only Docker's schema 2 (and the layer is gzip)."""
    types = {part.split(";")[0].strip() for part in accept.split(",") if part.strip()}
    if compression == "gzip" and mt.DOCKER_MANIFEST in types and mt.OCI_MANIFEST not in types:
        return "docker"
    return "oci"


def image_manifest(form: str, compression: str, config: bytes, image: SquashedImage, source: str):
    """(media type, bytes) of the squashed image manifest."""
    docker = form == "docker"
    manifest: dict = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST if docker else mt.OCI_MANIFEST,
        "config": {
            "mediaType": mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG,
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": LAYER_TYPES[(form, compression)],
                "digest": image.sha256,
                "size": image.size,
            }
        ],
    }
    if not docker:
        manifest["annotations"] = {SOURCE_ANNOTATION: source}
    return manifest["mediaType"], dumps(manifest)


@dataclass
class Served:
    """A squashed manifest or index ready to send."""

    media_type: str
    raw: bytes

    @property
    def digest(self) -> str:
        return sha256(self.raw)


# -- builds ------------------------------------------------------------------------------------


def _start(repository: Repository, manifest: Manifest, compression: str) -> SquashedImage:
    _image, platform = choose_platform(manifest, None)
    key = cache.Key(repository, manifest.digest, platform, "rootfs", compression)
    image, _ = cache.ensure_build(key, manifest, None)
    if image.state == SquashedImage.State.READY and not image.diff_id:
        cache.restart(image)  # built before diff_ids were recorded
        image.refresh_from_db()
    return image


def _poll(image: SquashedImage) -> SquashedImage:
    image.refresh_from_db()
    if image.is_stale:
        cache.restart(image)
        image.refresh_from_db()
    return image


async def ready_squash(repository: Repository, manifest: Manifest, compression: str):
    """The finished squash of ``manifest``, starting or joining its build and waiting for it."""
    try:
        image = await sync_to_async(_start, thread_sensitive=False)(
            repository, manifest, compression
        )
    except SquashHTTPError as exc:
        raise errors.ManifestUnknown(exc.message) from exc
    deadline = time.monotonic() + settings.QS_SQUASHED_PULL_WAIT_SECONDS
    while image.state == SquashedImage.State.BUILDING:
        if time.monotonic() > deadline:
            # Clients retry a 429 (with Retry-After) rather than give the image up.
            raise errors.TooManyRequests(
                "the squashed image is still being built; retry shortly",
                headers={"Retry-After": "5"},
            )
        await asyncio.sleep(POLL_SECONDS)
        try:
            image = await sync_to_async(_poll, thread_sensitive=False)(image)
        except SquashedImage.DoesNotExist:  # evicted or deleted meanwhile: start again
            image = await sync_to_async(_start, thread_sensitive=False)(
                repository, manifest, compression
            )
    if image.state == SquashedImage.State.FAILED:
        raise errors.RegistryError(f"the squash build failed: {image.error}")
    return image


# -- manifests ---------------------------------------------------------------------------------


def _record(repository: Repository, served: Served, source: str, compression: str, **blob) -> None:
    if SquashedManifest.objects.filter(repository=repository, digest=served.digest).exists():
        return
    try:
        with transaction.atomic():
            SquashedManifest.objects.create(
                repository=repository,
                digest=served.digest,
                media_type=served.media_type,
                source_digest=source,
                compression=compression,
                **blob,
            )
    except IntegrityError:
        pass  # recorded concurrently


def _source_config(manifest: Manifest) -> bytes:
    return get_storage().read_bytes(blob_key(manifest.config_blob.digest))


async def squashed_image(repository: Repository, manifest: Manifest, compression: str, form: str):
    """The squashed manifest of the single-platform ``manifest``, built if need be."""
    image = await ready_squash(repository, manifest, compression)
    source_config = await sync_to_async(_source_config, thread_sensitive=False)(manifest)
    config = squashed_config(source_config, image.diff_id, manifest.digest)
    media_type, raw = image_manifest(form, compression, config, image, manifest.digest)
    served = Served(media_type, raw)
    await sync_to_async(_record, thread_sensitive=False)(
        repository,
        served,
        manifest.digest,
        compression,
        config_digest=sha256(config),
        layer_digest=image.sha256,
        layer_size=image.size,
        diff_id=image.diff_id,
    )
    return served


def _children(index: Manifest) -> list[tuple[Manifest, dict]]:
    """The platform images of an index, with their platform objects as the index gives them."""
    platforms = {}
    for entry in json.loads(bytes(index.raw)).get("manifests") or []:
        if isinstance(entry, dict) and isinstance(entry.get("platform"), dict):
            platforms[entry.get("digest")] = entry["platform"]
    out = []
    for link in index.children.select_related("child__config_blob").order_by("pk"):
        child = link.child
        platform = platforms.get(child.digest)
        if child.is_index or child.config_blob_id is None or platform is None:
            continue
        if platform.get("os") == "unknown":  # buildx attestations, not runnable images
            continue
        out.append((child, platform))
    return out


async def squashed_index(repository: Repository, index: Manifest, compression: str):
    """An OCI index of the squashed children (every platform is built, in parallel)."""
    children = await sync_to_async(_children, thread_sensitive=False)(index)
    if not children:
        raise errors.ManifestUnknown("the index names no runnable image")
    built = await asyncio.gather(
        *(squashed_image(repository, child, compression, "oci") for child, _ in children)
    )
    manifests = [
        {
            "mediaType": served.media_type,
            "digest": served.digest,
            "size": len(served.raw),
            "platform": platform,
        }
        for served, (_, platform) in zip(built, children, strict=True)
    ]
    raw = dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": manifests,
            "annotations": {SOURCE_ANNOTATION: index.digest},
        }
    )
    served = Served(mt.OCI_INDEX, raw)
    await sync_to_async(_record, thread_sensitive=False)(
        repository, served, index.digest, compression
    )
    return served


async def squashed(repository: Repository, manifest: Manifest, compression: str, form: str):
    if manifest.is_index:
        return await squashed_index(repository, manifest, compression)
    if manifest.config_blob_id is None:
        raise errors.ManifestUnknown("not a container image (no image config)")
    return await squashed_image(repository, manifest, compression, form)

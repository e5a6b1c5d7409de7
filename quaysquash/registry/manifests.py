"""Parse manifests, store them with their references checked, and move tags keeping history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.accounts.names import TAG_RE
from quaysquash.storage import digests

from . import errors, mediatypes
from .models import Blob, Manifest, ManifestChild, ManifestLayer, RepositoryBlob, Tag

MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict = field(default_factory=dict)


@dataclass
class ParsedManifest:
    media_type: str
    config: Descriptor | None
    layers: list[Descriptor]
    children: list[Descriptor]
    subject: Descriptor | None
    artifact_type: str


def manifest_digest(raw: bytes, algorithm: str = digests.DEFAULT_ALGORITHM) -> str:
    return digests.compute(raw, algorithm)


def _descriptor(obj: object, where: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise errors.ManifestInvalid(f"{where} is not a descriptor object")
    digest, size = obj.get("digest"), obj.get("size")
    if not isinstance(digest, str) or not digests.GRAMMAR_RE.match(digest):
        raise errors.ManifestInvalid(f"{where} has an invalid digest")
    if not isinstance(size, int) or size < 0:
        raise errors.ManifestInvalid(f"{where} has an invalid size")
    return Descriptor(
        media_type=str(obj.get("mediaType", "")),
        digest=digest,
        size=size,
        platform=obj.get("platform") or {},
    )


def parse_manifest(raw: bytes, content_type: str | None = None) -> ParsedManifest:
    """Validate a manifest's JSON structure; the media type comes from the body or the header."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise errors.ManifestTooLarge()
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise errors.ManifestInvalid("manifest is not a JSON object")
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type:
        media_type = mediatypes.OCI_INDEX if "manifests" in doc else mediatypes.OCI_MANIFEST
    if (
        content_type
        and doc.get("mediaType")
        and content_type.split(";")[0].strip()
        not in (
            doc["mediaType"],
            "",
            "application/octet-stream",
        )
    ):
        raise errors.ManifestInvalid("Content-Type does not match the manifest's mediaType")
    if media_type not in mediatypes.MANIFESTS:
        raise errors.ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    if doc.get("schemaVersion") != 2:
        raise errors.ManifestInvalid("schemaVersion must be 2")
    subject = _descriptor(doc["subject"], "subject") if "subject" in doc else None
    if media_type in mediatypes.INDEXES:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise errors.ManifestInvalid("index has no manifests list")
        children = [_descriptor(m, f"manifests[{i}]") for i, m in enumerate(manifests)]
        return ParsedManifest(
            media_type, None, [], children, subject, str(doc.get("artifactType", ""))
        )
    config = _descriptor(doc.get("config"), "config")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list):
        raise errors.ManifestInvalid("manifest has no layers list")
    layers = [_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers_doc)]
    # Distribution spec, "Listing Referrers": an image manifest without artifactType is
    # listed with its config's mediaType, whatever it is (an image config too).
    artifact_type = str(doc.get("artifactType") or "") or config.media_type
    return ParsedManifest(
        media_type, config, layers, children=[], subject=subject, artifact_type=artifact_type
    )


def _repo_blob(repository: Repository, digest: str) -> Blob:
    blob = Blob.objects.filter(digest=digest, repository_links__repository=repository).first()
    if blob is None:
        raise errors.ManifestBlobUnknown(detail={"digest": digest})
    return blob


@transaction.atomic
def store_manifest(
    repository: Repository,
    raw: bytes,
    content_type: str | None = None,
    algorithm: str = digests.DEFAULT_ALGORITHM,
) -> Manifest:
    """Store a manifest exactly as pushed after checking every reference is in the repository.

    It is addressed by its digest in ``algorithm``: the one of the digest it was pushed by.
    """
    parsed = parse_manifest(raw, content_type)
    digest = manifest_digest(raw, algorithm)
    # References are checked even for known bytes: a deleted manifest pushed again is revived
    # only if what it points at is still there.
    config_blob = _repo_blob(repository, parsed.config.digest) if parsed.config else None
    layer_blobs = [_repo_blob(repository, d.digest) for d in parsed.layers]
    child_rows = []
    for desc in parsed.children:
        child = Manifest.objects.filter(repository=repository, digest=desc.digest).first()
        if child is None:
            # Distribution spec, "Push": a manifest refused for a descriptor naming a manifest
            # or blob the registry does not have "MUST result in ... MANIFEST_BLOB_UNKNOWN".
            raise errors.ManifestBlobUnknown(
                f"index references manifest {desc.digest} unknown to this repository",
                detail={"digest": desc.digest},
            )
        child_rows.append((desc, child))
    existing = Manifest.all_objects.filter(repository=repository, digest=digest).first()
    if existing is not None:
        if existing.deleted is not None:
            existing.deleted = None
            existing.save(update_fields=["deleted"])
        return existing
    manifest = Manifest.objects.create(
        repository=repository,
        digest=digest,
        media_type=parsed.media_type,
        artifact_type=parsed.artifact_type,
        raw=raw,
        config_blob=config_blob,
        subject_digest=parsed.subject.digest if parsed.subject else "",
    )
    ManifestLayer.objects.bulk_create(
        ManifestLayer(
            manifest=manifest, position=i, blob=blob, media_type=desc.media_type, size=desc.size
        )
        for i, (desc, blob) in enumerate(zip(parsed.layers, layer_blobs, strict=True))
    )
    ManifestChild.objects.bulk_create(
        ManifestChild(
            parent=manifest,
            child=child,
            position=i,
            os=str(desc.platform.get("os", "")),
            architecture=str(desc.platform.get("architecture", "")),
            variant=str(desc.platform.get("variant", "")),
        )
        for i, (desc, child) in enumerate(child_rows)
    )
    return manifest


def validate_tag_name(name: str) -> str:
    if not TAG_RE.match(name):
        raise errors.TagInvalid(f"invalid tag name {name!r}")
    return name


@transaction.atomic
def set_tag(repository: Repository, name: str, manifest: Manifest) -> Tag:
    """Point ``name`` at ``manifest``; the previous lifetime of the tag is ended, not rewritten.

    The one way tags are created or moved: it sends ``tag_pushed`` after commit (not when the
    tag already points at ``manifest``)."""
    validate_tag_name(name)
    now = timezone.now()
    current = (
        Tag.objects.select_for_update()
        .filter(repository=repository, name=name, lifetime_end__isnull=True)
        .first()
    )
    if current is not None:
        if current.manifest_id == manifest.pk and (
            current.expiration is None or current.expiration > now
        ):
            return current
        current.lifetime_end = now
        current.save(update_fields=["lifetime_end"])
    tag = Tag.objects.create(
        repository=repository, name=name, manifest=manifest, lifetime_start=now
    )
    _announce(tag)
    return tag


def _announce(tag: Tag) -> None:
    """Send ``tag_pushed`` for a created or moved tag once it is committed, whoever moved it
    (a push, the importer, the API's retag). A failing receiver is logged, never undoes or
    fails the change (``robust``)."""
    from .signals import tag_pushed

    transaction.on_commit(lambda: tag_pushed.send(sender=Tag, tag=tag), robust=True)


@transaction.atomic
def delete_tag(repository: Repository, name: str) -> bool:
    """End the tag's current lifetime; returns False when no such tag is active."""
    ended = Tag.objects.filter(repository=repository, name=name, lifetime_end__isnull=True).update(
        lifetime_end=timezone.now()
    )
    return ended > 0


def link_blob(repository: Repository, digest: str, size: int, media_type: str = "") -> Blob:
    """Record a stored blob and make it part of ``repository``."""
    blob, _ = Blob.objects.get_or_create(
        digest=digest, defaults={"size": size, "media_type": media_type}
    )
    RepositoryBlob.objects.get_or_create(repository=repository, blob=blob)
    return blob


def is_digest(reference: str) -> bool:
    return ":" in reference


def resolve_manifest(repository: Repository, reference: str) -> Manifest:
    """The live manifest a tag or digest names in ``repository``, else ``MANIFEST_UNKNOWN``.

    A reference that is neither a valid tag nor a digest names nothing, so a read answers
    ``404 MANIFEST_UNKNOWN`` (the spec's end-3 fails only with 404; the reference registry
    answers 404 too); writes refuse such a reference with 400 before they get here.
    """
    manifest = None
    if is_digest(reference):
        if digests.GRAMMAR_RE.match(reference):
            manifest = Manifest.objects.filter(repository=repository, digest=reference).first()
    elif TAG_RE.match(reference):
        tag = (
            Tag.objects.active()
            .filter(repository=repository, name=reference)
            .select_related("manifest")
            .first()
        )
        if tag is not None and tag.manifest.deleted is None:
            manifest = tag.manifest
    if manifest is None:
        raise errors.ManifestUnknown(detail={"reference": reference})
    return manifest


@transaction.atomic
def delete_manifest(repository: Repository, digest: str) -> list[str]:
    """Delete a manifest by digest, untagging every tag that points at it.

    The spec lets a registry refuse or untag; untagging is what the reference registry does and
    what ``skopeo delete`` / ``oras manifest delete`` (which resolve a tag to a digest first)
    need. Returns the tag names that were ended. The row is kept (``deleted`` set) because tag
    history references it.
    """
    manifest = (
        Manifest.objects.select_for_update().filter(repository=repository, digest=digest).first()
    )
    if manifest is None:
        raise errors.ManifestUnknown(detail={"digest": digest})
    now = timezone.now()
    tags = list(
        Tag.objects.filter(
            repository=repository, manifest=manifest, lifetime_end__isnull=True
        ).values_list("name", flat=True)
    )
    Tag.objects.filter(repository=repository, manifest=manifest, lifetime_end__isnull=True).update(
        lifetime_end=now
    )
    manifest.deleted = now
    manifest.save(update_fields=["deleted"])
    return tags

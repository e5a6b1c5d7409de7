"""Import a local image — an OCI image layout directory or a ``docker save`` tar — into the
registry's storage and tag it, through the same storage and manifest code as the /v2/ API.

Every blob is verified against its digest while it is copied. On any error the database is
left untouched and blobs this import wrote are removed again.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import transaction

from quaysquash.accounts.models import Namespace, Repository
from quaysquash.accounts.names import validate_repository_name

from . import errors, mediatypes
from .manifests import link_blob, manifest_digest, set_tag, store_manifest, validate_tag_name
from .models import Tag
from .storage import DIGEST_RE, DigestMismatch, get_storage

REF_ANNOTATION = "org.opencontainers.image.ref.name"


class ImportFailed(Exception):
    """The image cannot be imported; the message says why, in one line."""


@dataclass
class SourceBlob:
    digest: str
    size: int
    media_type: str
    open: Callable[[], BinaryIO]


@dataclass
class SourceManifest:
    raw: bytes
    media_type: str


@dataclass
class SourceImage:
    blobs: list[SourceBlob]
    # Children before parents, so an index is stored after the manifests it lists.
    manifests: list[SourceManifest]


def parse_target(target: str) -> tuple[str, str, str]:
    repo, sep, tag = target.rpartition(":")
    if not sep or "/" in tag:
        raise ImportFailed(f"target must be <namespace>/<repo>:<tag>, got {target!r}")
    ns, sep, name = repo.partition("/")
    if not sep or not ns or not name:
        raise ImportFailed(f"target must be <namespace>/<repo>:<tag>, got {target!r}")
    return ns, name, tag


def split_source(source: str) -> tuple[Path, str | None]:
    path = Path(source)
    if path.exists():
        return path, None
    base, sep, ref = source.rpartition(":")
    if sep and Path(base).exists():
        return Path(base), ref
    raise ImportFailed(f"no such file or directory: {source}")


# --- OCI image layout -------------------------------------------------------------------------


def _read_json(raw: bytes, what: str) -> dict:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise ImportFailed(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ImportFailed(f"{what} is not a JSON object")
    return doc


def _layout_blob_path(layout: Path, digest: str) -> Path:
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        raise ImportFailed(f"unsupported digest {digest!r} in layout")
    algo, hexpart = digest.split(":", 1)
    path = layout / "blobs" / algo / hexpart
    if not path.is_file():
        raise ImportFailed(f"blob {digest} is missing from {layout}")
    return path


def read_oci_layout(layout: Path, ref: str | None) -> SourceImage:
    marker = layout / "oci-layout"
    if not marker.is_file() or "imageLayoutVersion" not in _read_json(
        marker.read_bytes(), "oci-layout"
    ):
        raise ImportFailed(f"{layout} is not an OCI image layout (no valid oci-layout file)")
    index = _read_json((layout / "index.json").read_bytes(), "index.json")
    descriptors = index.get("manifests") or []
    if ref is not None:
        chosen = [d for d in descriptors if d.get("annotations", {}).get(REF_ANNOTATION) == ref]
        if not chosen:
            raise ImportFailed(f"no image named {ref!r} in {layout}")
    elif len(descriptors) == 1:
        chosen = descriptors
    else:
        refs = sorted(d.get("annotations", {}).get(REF_ANNOTATION, "?") for d in descriptors)
        raise ImportFailed(
            f"{layout} holds {len(descriptors)} images; pick one of {refs} as DIR:REF"
        )
    image = SourceImage(blobs=[], manifests=[])
    seen: set[str] = set()
    _collect_oci(layout, chosen[0], image, seen)
    return image


def _collect_oci(layout: Path, desc: dict, image: SourceImage, seen: set[str]) -> None:
    digest = desc.get("digest")
    path = _layout_blob_path(layout, digest)
    raw = path.read_bytes()
    if manifest_digest(raw) != digest:
        raise ImportFailed(f"manifest {digest} in {layout} does not match its digest")
    doc = _read_json(raw, f"manifest {digest}")
    media_type = doc.get("mediaType") or desc.get("mediaType") or ""
    if media_type in mediatypes.INDEXES:
        for child in doc.get("manifests") or []:
            _collect_oci(layout, child, image, seen)
    elif media_type in mediatypes.IMAGE_MANIFESTS:
        for blob_desc in [doc.get("config") or {}, *(doc.get("layers") or [])]:
            blob_digest = blob_desc.get("digest")
            if blob_digest in seen:
                continue
            blob_path = _layout_blob_path(layout, blob_digest)
            size = blob_path.stat().st_size
            if size != blob_desc.get("size"):
                raise ImportFailed(
                    f"blob {blob_digest} is {size} bytes but its descriptor says {blob_desc.get('size')}"
                )
            seen.add(blob_digest)
            image.blobs.append(
                SourceBlob(
                    blob_digest,
                    size,
                    blob_desc.get("mediaType", ""),
                    lambda p=blob_path: open(p, "rb"),
                )
            )
    else:
        raise ImportFailed(f"manifest {digest} has unsupported media type {media_type!r}")
    image.manifests.append(SourceManifest(raw, media_type))


# --- docker save tar --------------------------------------------------------------------------


def _layer_media_type(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        return mediatypes.OCI_LAYER_GZIP
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return mediatypes.OCI_LAYER_ZSTD
    return mediatypes.OCI_LAYER


def read_docker_save(path: Path, ref: str | None) -> SourceImage:
    import hashlib

    try:
        archive = tarfile.open(path, "r:*")
        manifest_member = archive.extractfile("manifest.json")
    except (tarfile.TarError, KeyError) as exc:
        raise ImportFailed(f"{path} is not a docker save archive: {exc}") from None
    if manifest_member is None:
        raise ImportFailed(f"{path} has no manifest.json")
    try:
        entries = json.loads(manifest_member.read())
    except ValueError as exc:
        raise ImportFailed(f"manifest.json in {path} is not valid JSON: {exc}") from None
    if not isinstance(entries, list) or not entries:
        raise ImportFailed(f"manifest.json in {path} lists no image")
    if ref is not None:
        wanted = [
            e
            for e in entries
            if any(
                t == ref or t.endswith(":" + ref) or t.rsplit(":", 1)[0].endswith(ref)
                for t in e.get("RepoTags") or []
            )
        ]
        if not wanted:
            raise ImportFailed(f"no image tagged {ref!r} in {path}")
        entry = wanted[0]
    elif len(entries) == 1:
        entry = entries[0]
    else:
        raise ImportFailed(f"{path} holds {len(entries)} images; pick one as FILE:REPO:TAG")

    def member_bytes_hash(name: str) -> tuple[str, int, str]:
        fh = archive.extractfile(name)
        if fh is None:
            raise ImportFailed(f"{name} is missing from {path}")
        hasher, size, head = hashlib.sha256(), 0, b""
        while chunk := fh.read(1024 * 1024):
            if not head:
                head = chunk[:4]
            hasher.update(chunk)
            size += len(chunk)
        return "sha256:" + hasher.hexdigest(), size, head

    try:
        config_name = entry["Config"]
        config_raw = archive.extractfile(config_name).read()
        layer_names = list(entry["Layers"])
    except (KeyError, AttributeError, TypeError) as exc:
        raise ImportFailed(f"manifest.json in {path} is incomplete: {exc}") from None
    _read_json(config_raw, "image config")
    config_digest = manifest_digest(config_raw)
    blobs = [
        SourceBlob(
            config_digest,
            len(config_raw),
            mediatypes.OCI_CONFIG,
            lambda n=config_name: archive.extractfile(n),
        )
    ]
    layers = []
    for name in layer_names:
        digest, size, head = member_bytes_hash(name)
        media_type = _layer_media_type(head)
        layers.append({"mediaType": media_type, "digest": digest, "size": size})
        blobs.append(SourceBlob(digest, size, media_type, lambda n=name: archive.extractfile(n)))
    manifest = {
        "schemaVersion": 2,
        "mediaType": mediatypes.OCI_MANIFEST,
        "config": {
            "mediaType": mediatypes.OCI_CONFIG,
            "digest": config_digest,
            "size": len(config_raw),
        },
        "layers": layers,
    }
    raw = json.dumps(manifest, indent=2).encode()
    return SourceImage(blobs=blobs, manifests=[SourceManifest(raw, mediatypes.OCI_MANIFEST)])


# --- storing ----------------------------------------------------------------------------------


def read_source(source: str) -> SourceImage:
    path, ref = split_source(source)
    if path.is_dir():
        return read_oci_layout(path, ref)
    return read_docker_save(path, ref)


def import_image(source: str, target: str) -> Tag:
    """Store ``source`` (``DIR[:ref]`` or a docker-save tar) as ``<ns>/<repo>:<tag>``."""
    ns_name, repo_name, tag_name = parse_target(target)
    try:
        namespace = Namespace.objects.get(name=ns_name)
    except Namespace.DoesNotExist:
        raise ImportFailed(f"unknown namespace {ns_name!r}") from None
    try:
        validate_repository_name(repo_name)
        validate_tag_name(tag_name)
    except ValidationError as exc:
        raise ImportFailed("; ".join(exc.messages)) from None
    except errors.RegistryError as exc:
        raise ImportFailed(str(exc)) from None

    image = read_source(source)
    storage = get_storage()
    written: list[str] = []
    try:
        for blob in image.blobs:
            if storage.exists(blob.digest):
                continue
            with blob.open() as fh:
                digest, size = storage.write_file(fh, expected_digest=blob.digest)
            written.append(digest)
        with transaction.atomic():
            repository, _ = Repository.objects.get_or_create(namespace=namespace, name=repo_name)
            for blob in image.blobs:
                link_blob(repository, blob.digest, blob.size, blob.media_type)
            manifest = None
            for item in image.manifests:
                manifest = store_manifest(repository, item.raw, item.media_type)
            assert manifest is not None
            return set_tag(repository, tag_name, manifest)
    except DigestMismatch as exc:
        _remove(storage, written)
        raise ImportFailed(f"blob corrupt: {exc}") from None
    except (errors.RegistryError, tarfile.TarError, OSError) as exc:
        _remove(storage, written)
        raise ImportFailed(str(exc)) from None
    except BaseException:
        _remove(storage, written)
        raise


def _remove(storage, digests: list[str]) -> None:
    for digest in digests:
        storage.delete(digest)

"""Import a local image — an OCI image layout (a directory or a tar) or a ``docker save`` tar —
into the registry's storage and tag it, through the same storage and manifest code as the /v2/
API. The source is read by the squash engine's reader (``squashengine.open_image_tree``), so the
importer and the engine's CLI agree on paths, refs and checks (docs/engine.md, "Local sources").

Every blob is verified against its digest while it is copied. On any error the database is
left untouched and blobs this import wrote are removed again.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from quaysquash.accounts.models import Namespace, Repository
from quaysquash.accounts.names import validate_repository_name
from squashengine import ImageTree, SourceError, open_image_tree

from . import errors
from .manifests import link_blob, set_tag, store_manifest, validate_tag_name
from .models import Tag
from .storage import DigestMismatch, get_storage


class ImportFailed(Exception):
    """The image cannot be imported; the message says why, in one line."""


def parse_target(target: str) -> tuple[str, str, str]:
    repo, sep, tag = target.rpartition(":")
    if not sep or "/" in tag:
        raise ImportFailed(f"target must be <namespace>/<repo>:<tag>, got {target!r}")
    ns, sep, name = repo.partition("/")
    if not sep or not ns or not name:
        raise ImportFailed(f"target must be <namespace>/<repo>:<tag>, got {target!r}")
    return ns, name, tag


def read_source(source: str) -> ImageTree:
    """The engine's reading of ``source``: the same files, refs and checks as the squash CLI."""
    try:
        return open_image_tree(source)
    except SourceError as exc:
        raise ImportFailed(str(exc)) from None


def import_image(source: str, target: str) -> Tag:
    """Store ``source`` (``PATH[:ref]``: an OCI layout directory or tar, or a docker-save tar)
    as ``<ns>/<repo>:<tag>``."""
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

    with read_source(source) as image:
        return _store(image, namespace, repo_name, tag_name)


def _store(image: ImageTree, namespace: Namespace, repo_name: str, tag_name: str) -> Tag:
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
    except (errors.RegistryError, SourceError, OSError) as exc:
        _remove(storage, written)
        raise ImportFailed(str(exc)) from None
    except BaseException:
        _remove(storage, written)
        raise


def _remove(storage, digests: list[str]) -> None:
    for digest in digests:
        storage.delete(digest)

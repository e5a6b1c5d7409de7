"""``/v2/<name>/manifests/<reference>``: manifests by tag or digest, stored byte-for-byte."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from quaysquash.proxy import pullthrough
from quaysquash.storage import digests

from .. import errors
from ..access import DELETE, PULL, PUSH, authorize
from ..manifests import (
    MAX_MANIFEST_BYTES,
    delete_manifest,
    delete_tag,
    is_digest,
    manifest_digest,
    resolve_manifest,
    set_tag,
    store_manifest,
    validate_tag_name,
)
from .base import ContentView, check_digest, empty_response


def _read_manifest(request: HttpRequest) -> bytes:
    # One byte past the limit is enough to know it is too large, without reading the rest.
    raw = bytearray()
    while len(raw) <= MAX_MANIFEST_BYTES:
        chunk = request.read(MAX_MANIFEST_BYTES + 1 - len(raw))
        if not chunk:
            break
        raw += chunk
    if len(raw) > MAX_MANIFEST_BYTES:
        raise errors.ManifestTooLarge()
    return bytes(raw)


class ManifestView(ContentView):
    def serve(self, request: HttpRequest, name: str, reference: str, body: bool) -> HttpResponse:
        pullthrough.manifest_for(request, name, reference)  # proxy organizations: fetch first
        repository = authorize(request, name, PULL)
        manifest = resolve_manifest(repository, reference)
        raw = bytes(manifest.raw)
        # Whatever the client's Accept header says, the stored bytes are the only faithful
        # answer (their digest is the manifest's identity); clients cope with any listed type.
        response = HttpResponse(raw if body else b"", content_type=manifest.media_type)
        response["Docker-Content-Digest"] = manifest.digest
        response["ETag"] = f'"{manifest.digest}"'
        response["Content-Length"] = str(len(raw))
        return response

    def put(self, request: HttpRequest, name: str, reference: str) -> HttpResponse:
        pullthrough.refuse_push(name)
        repository = authorize(request, name, PUSH, create=True)
        raw = _read_manifest(request)
        tag_name = None
        if is_digest(reference):
            # Distribution spec, "Pushing Manifests": Docker-Content-Digest MUST equal the
            # digest the client pushed by, so the manifest is hashed with its algorithm.
            algorithm = digests.algorithm_of(check_digest(reference))
            digest = manifest_digest(raw, algorithm)
            if reference != digest:
                raise errors.DigestInvalid(
                    "manifest digest does not match the reference",
                    detail={"expected": reference, "actual": digest},
                )
        else:
            tag_name = validate_tag_name(reference)
            algorithm = digests.DEFAULT_ALGORITHM
            digest = manifest_digest(raw, algorithm)
        with transaction.atomic():
            manifest = store_manifest(repository, raw, request.META.get("CONTENT_TYPE"), algorithm)
            if tag_name:
                # set_tag announces a created or moved tag (tag_pushed) after the commit.
                set_tag(repository, tag_name, manifest)
        response = empty_response(
            201,
            {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest},
        )
        if manifest.subject_digest:
            # Tells OCI 1.1 clients this registry indexes referrers itself, so they need not
            # maintain the tag-schema fallback index.
            response["OCI-Subject"] = manifest.subject_digest
        return response

    def delete(self, request: HttpRequest, name: str, reference: str) -> HttpResponse:
        repository = authorize(request, name, DELETE)
        if is_digest(reference):
            delete_manifest(repository, check_digest(reference))
        else:
            validate_tag_name(reference)
            if not delete_tag(repository, reference):
                raise errors.ManifestUnknown(detail={"tag": reference})
        return empty_response(202, {})


def descriptor_of(manifest) -> dict:
    """The manifest as a referrers list describes it (distribution spec, "Listing Referrers"):
    its artifactType (for an image manifest without one, its config's mediaType; omitted for
    an index without one) and its annotations."""
    raw = bytes(manifest.raw)
    descriptor = {"mediaType": manifest.media_type, "digest": manifest.digest, "size": len(raw)}
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    artifact_type = manifest.artifact_type
    config = doc.get("config")
    if not artifact_type and isinstance(config, dict):
        # Rows stored before the fallback covered image configs too have it empty.
        artifact_type = str(config.get("mediaType") or "")
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    annotations = doc.get("annotations")
    if isinstance(annotations, dict) and annotations:
        descriptor["annotations"] = annotations
    return descriptor

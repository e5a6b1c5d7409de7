"""``/v2/<name>/blobs/<digest>``: fetch (with ``Range``), check and unlink blobs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from quaysquash.core import serving
from quaysquash.proxy import pullthrough
from quaysquash.storage import blob_key
from quaysquash.storage import get_storage as get_driver

from .. import errors
from ..access import DELETE, PULL, authorize
from ..models import Blob, RepositoryBlob
from .base import ContentView, check_digest, empty_response


def repository_blob(repository, digest: str) -> tuple[Blob, int]:
    """The blob and its stored size, if linked to this repository (storage is shared,
    visibility is not) and present in storage."""
    blob = Blob.objects.filter(digest=digest, repository_links__repository=repository).first()
    info = get_driver().stat(blob_key(digest)) if blob is not None else None
    if blob is None or info is None:
        raise errors.BlobUnknown(detail={"digest": digest})
    return blob, info.size


class BlobView(ContentView):
    def serve(self, request: HttpRequest, name: str, digest: str, body: bool) -> HttpResponse:
        if (relayed := pullthrough.blob_for(request, name, digest)) is not None:
            return relayed  # proxy organizations: streamed from the upstream while stored
        repository = authorize(request, name, PULL)
        check_digest(digest)
        blob, size = repository_blob(repository, digest)
        stored = serving.Stored(
            key=blob_key(digest),
            size=size,
            etag=f'"{digest}"',
            content_type=blob.media_type or "application/octet-stream",
            headers={"Docker-Content-Digest": digest, "Cache-Control": "max-age=31536000"},
        )
        try:
            # On S3 a GET is a redirect to a presigned URL (distribution and Quay do the same).
            return serving.respond(request, get_driver(), stored, body=body)
        except serving.RangeNotSatisfiable as exc:
            raise errors.RangeInvalid(headers=exc.headers) from exc
        except FileNotFoundError as exc:
            raise errors.BlobUnknown(detail={"digest": digest}) from exc

    def delete(self, request: HttpRequest, name: str, digest: str) -> HttpResponse:
        repository = authorize(request, name, DELETE)
        check_digest(digest)
        # Unlinking hides the blob from this repository; the bytes stay while other
        # repositories or manifests use them (garbage collection reclaims the rest).
        deleted, _ = RepositoryBlob.objects.filter(
            repository=repository, blob__digest=digest
        ).delete()
        if not deleted:
            raise errors.BlobUnknown(detail={"digest": digest})
        return empty_response(202, {"Docker-Content-Digest": digest})

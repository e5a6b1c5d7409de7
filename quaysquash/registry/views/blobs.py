"""``/v2/<name>/blobs/<digest>``: fetch (with ``Range``), check and unlink blobs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from quaysquash.proxy import pullthrough

from .. import errors
from ..access import DELETE, PULL, authorize
from ..models import Blob, RepositoryBlob
from ..storage import get_storage
from .base import RegistryView, check_digest, empty_response, file_response, parse_range


def repository_blob(repository, digest: str) -> Blob:
    # Only blobs linked to this repository are served: storage is shared, visibility is not.
    blob = Blob.objects.filter(digest=digest, repository_links__repository=repository).first()
    if blob is None or not get_storage().exists(digest):
        raise errors.BlobUnknown(detail={"digest": digest})
    return blob


class BlobView(RegistryView):
    def get(self, request: HttpRequest, name: str, digest: str) -> HttpResponse:
        return self._serve(request, name, digest, body=True)

    def head(self, request: HttpRequest, name: str, digest: str) -> HttpResponse:
        return self._serve(request, name, digest, body=False)

    def _serve(self, request: HttpRequest, name: str, digest: str, body: bool) -> HttpResponse:
        if (relayed := pullthrough.blob_for(request, name, digest)) is not None:
            return relayed  # proxy organizations: streamed from the upstream while stored
        repository = authorize(request, name, PULL)
        check_digest(digest)
        blob = repository_blob(repository, digest)
        storage = get_storage()
        if body and storage.redirects:
            # S3: the client fetches the bytes from the bucket (distribution and Quay do the
            # same); Range headers go along with the redirect, S3 honours them.
            return empty_response(
                307, {"Location": storage.presigned_url(digest), "Docker-Content-Digest": digest}
            )
        try:
            size = storage.size(digest)
        except FileNotFoundError as exc:
            raise errors.BlobUnknown(detail={"digest": digest}) from exc
        headers = {
            "Docker-Content-Digest": digest,
            "ETag": f'"{digest}"',
            "Accept-Ranges": "bytes",
            "Content-Type": blob.media_type or "application/octet-stream",
            "Cache-Control": "max-age=31536000",
        }
        start, end, status = 0, size - 1, 200
        range_header = request.META.get("HTTP_RANGE")
        if range_header and size > 0:
            start, end = parse_range(range_header, size)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        if not body:
            # HEAD needs no open file (on S3 that would start a GET of the whole object).
            response = empty_response(status, headers)
            response["Content-Length"] = str(length)
            return response
        try:
            fh = storage.open(digest)
        except FileNotFoundError as exc:
            raise errors.BlobUnknown(detail={"digest": digest}) from exc
        return file_response(request, fh, start, length, status, headers)

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

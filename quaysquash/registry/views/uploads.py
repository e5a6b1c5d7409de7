"""``/v2/<name>/blobs/uploads/``: start, feed, inspect, finish and cancel blob uploads.

Bodies are read from the request stream in 1 MiB chunks (``request.read``), never through
``request.body``: a multi-GiB layer never sits in memory, and Django's in-memory upload limit
(DATA_UPLOAD_MAX_MEMORY_SIZE), which only guards ``request.body``, does not apply.
"""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from quaysquash.proxy import pullthrough

from .. import errors, uploads
from ..access import PULL, PUSH, authorize
from ..bodies import hashed_body
from ..manifests import link_blob
from ..models import Blob, Upload
from ..storage import CHUNK, DigestMismatch, get_storage
from .base import RegistryView, check_digest, empty_response

CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def _upload_headers(name: str, upload: Upload) -> dict[str, str]:
    # The spec's Range is inclusive; an empty session reports 0-0 as the reference registry does.
    end = upload.offset - 1 if upload.offset > 0 else 0
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload.pk}",
        "Range": f"0-{end}",
        "Docker-Upload-UUID": str(upload.pk),
    }


def _blob_created(name: str, digest: str) -> HttpResponse:
    return empty_response(
        201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
    )


def _reader(request: HttpRequest):
    return lambda n=CHUNK: request.read(n)


class UploadStartView(RegistryView):
    def post(self, request: HttpRequest, name: str) -> HttpResponse:
        pullthrough.refuse_push(name)
        repository = authorize(request, name, PUSH, create=True)
        mount, source = request.GET.get("mount"), request.GET.get("from")
        if mount and source and self._mount(request, repository, check_digest(mount), source):
            return _blob_created(name, mount)
        digest = request.GET.get("digest")
        if digest is not None:
            # Monolithic upload: the whole blob in this request, verified before it is visible.
            check_digest(digest)
            body = hashed_body(request)
            if body is not None:
                # Already on disk and hashed by the ASGI handler: verify and rename.
                if body.digest != digest:
                    raise DigestMismatch(digest, body.digest)
                get_storage().commit_file(body.claim(), digest)
                size = body.size
            else:
                digest, size = get_storage().write_stream(
                    iter(lambda: request.read(CHUNK), b""), expected_digest=digest
                )
            link_blob(repository, digest, size)
            return _blob_created(name, digest)
        upload = Upload.objects.create(repository=repository)
        uploads.create(str(upload.pk))
        return empty_response(202, _upload_headers(name, upload))

    def _mount(self, request: HttpRequest, repository, digest: str, source: str) -> bool:
        """Link a blob of ``source`` here if the caller may read it there; else ``False``, and
        the client gets an ordinary upload session (the spec's fallback)."""
        try:
            source_repo = authorize(request, source, PULL)
        except errors.RegistryError:
            return False
        blob = Blob.objects.filter(digest=digest, repository_links__repository=source_repo).first()
        if blob is None or not get_storage().exists(digest):
            return False
        link_blob(repository, blob.digest, blob.size, blob.media_type)
        return True


class UploadView(RegistryView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # The session row is read, the file extended and the row updated as one step.
        with uploads.session_lock(kwargs.get("upload_id", "")):
            return super().dispatch(request, *args, **kwargs)

    def _session(self, request: HttpRequest, name: str, upload_id: str) -> Upload:
        repository = authorize(request, name, PUSH)
        try:
            upload = Upload.objects.filter(pk=uuid.UUID(upload_id), repository=repository).first()
        except (ValueError, ValidationError):
            upload = None
        if upload is None or not uploads.session_path(str(upload.pk)).exists():
            raise errors.BlobUploadUnknown(detail={"uuid": upload_id})
        return upload

    def get(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        return empty_response(204, _upload_headers(name, upload))

    def patch(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        content_range = request.META.get("HTTP_CONTENT_RANGE")
        expected_end = None
        if content_range:
            match = CONTENT_RANGE_RE.match(content_range.strip())
            if not match:
                raise errors.BlobUploadInvalid(f"malformed Content-Range {content_range!r}")
            start, expected_end = int(match.group(1)), int(match.group(2))
            if start != upload.offset or expected_end < start:
                # Chunks must arrive in order; 416 tells the client where the session stands.
                raise errors.RangeInvalid(
                    f"chunk starts at {start}, session holds {upload.offset} bytes",
                    headers=_upload_headers(name, upload),
                )
        self._append(request, upload)
        if expected_end is not None and upload.offset != expected_end + 1:
            raise errors.BlobUploadInvalid(
                "chunk length does not match Content-Range",
                headers=_upload_headers(name, upload),
            )
        return empty_response(202, _upload_headers(name, upload))

    def put(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        digest = check_digest(request.GET.get("digest"))
        self._append(request, upload)
        try:
            digest, size = uploads.finish(str(upload.pk), upload.offset, digest)
        except Exception:
            # A failed finish ends the session: nothing of it may linger or become visible.
            uploads.discard(str(upload.pk))
            upload.delete()
            raise
        link_blob(upload.repository, digest, size)
        upload.delete()
        return _blob_created(name, digest)

    def delete(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        uploads.discard(str(upload.pk))
        upload.delete()
        return empty_response(204, {})

    def _append(self, request: HttpRequest, upload: Upload) -> None:
        body = hashed_body(request)
        if body is not None and upload.offset == 0 and body.size > 0:
            # The first chunk, already on disk and hashed: it becomes the session file.
            offset = uploads.adopt(str(upload.pk), body.claim(sync=False), body.size, body.hasher)
        else:
            offset = uploads.append(str(upload.pk), _reader(request), upload.offset)
        if offset != upload.offset:
            upload.offset = offset
            upload.updated = timezone.now()
            Upload.objects.filter(pk=upload.pk).update(offset=offset, updated=upload.updated)

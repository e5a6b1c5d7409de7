"""``/v2/<name>/blobs/uploads/``: start, feed, inspect, finish and cancel blob uploads.

Bodies are read from the request stream in 1 MiB chunks (``request.read``), never through
``request.body``: a multi-GiB layer never sits in memory, and Django's in-memory upload limit
(DATA_UPLOAD_MAX_MEMORY_SIZE), which only guards ``request.body``, does not apply. A session
lives in its row and the storage layer only (:mod:`..uploads`): any web server can take any of
its requests.
"""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from quaysquash.proxy import pullthrough
from quaysquash.storage import digests

from .. import errors, uploads
from ..access import PULL, PUSH, authorize, scope_for
from ..bodies import HashedBody, hashed_body
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
        mount, source = request.GET.get("mount"), request.GET.get("from")
        # A mount reads the source: the challenge asks for both scopes at once.
        also = [scope_for(source, PULL)] if mount and source else []
        repository = authorize(request, name, PUSH, create=True, also=also)
        if mount and source and self._mount(request, name, repository, check_digest(mount), source):
            return _blob_created(name, mount)
        digest = request.GET.get("digest")
        if digest is not None:
            # Monolithic upload: the whole blob in this request, verified before it is visible.
            check_digest(digest)
            body = hashed_body(request)
            if body is not None and body.hasher.name == digests.algorithm_of(digest):
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

    def _mount(self, request: HttpRequest, name: str, repository, digest: str, source: str) -> bool:
        """Link a blob of ``source`` here if the caller may read it there; else ``False``, and
        the client gets an ordinary upload session (the spec's fallback, "Mounting a blob from
        another repository").

        A token that lacks pull on a source its principal may read is refused with a challenge
        for both scopes instead, so a client that follows it mounts rather than re-uploads. A
        source the caller may not read, or that does not exist, falls back alike.
        """
        try:
            source_repo = authorize(request, source, PULL, also=[scope_for(name, PUSH)])
        except (errors.NameUnknown, errors.NameInvalid):
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

    def _session(
        self, request: HttpRequest, name: str, upload_id: str, action: str = PUSH
    ) -> Upload:
        repository = authorize(request, name, action)
        try:
            upload = Upload.objects.filter(pk=uuid.UUID(upload_id), repository=repository).first()
        except (ValueError, ValidationError):
            upload = None
        if upload is None:
            raise errors.BlobUploadUnknown(detail={"uuid": upload_id})
        return upload

    def get(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        # Reading a session's offset needs pull only, as in the reference registry (it grants
        # by method: GET and HEAD are pull); the UUID is the capability.
        upload = self._session(request, name, upload_id, PULL)
        return empty_response(204, _upload_headers(name, upload))

    def patch(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        self._append_chunk(request, name, upload)
        return empty_response(202, _upload_headers(name, upload))

    def put(self, request: HttpRequest, name: str, upload_id: str) -> HttpResponse:
        upload = self._session(request, name, upload_id)
        digest = check_digest(request.GET.get("digest"))
        # The last chunk may come with the PUT; its Content-Range is checked like a PATCH's,
        # before anything is written, so a refused chunk leaves the session as it was.
        self._append_chunk(request, name, upload)
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

    def _append_chunk(self, request: HttpRequest, name: str, upload: Upload) -> None:
        """Append the body, checking its ``Content-Range`` if it has one.

        Distribution spec, "Pushing a blob in chunks": chunks MUST arrive in order, and one
        that does not start at the session's offset MUST be answered ``416``; the session
        stays, and its status (``GET``) tells the client where to resume.
        """
        content_range = request.META.get("HTTP_CONTENT_RANGE")
        if request.META.get("CONTENT_LENGTH") == "0":
            # A closing PUT without a chunk: a range header left on it describes nothing.
            content_range = None
        expected_end = None
        if content_range:
            match = CONTENT_RANGE_RE.match(content_range.strip())
            if not match:
                raise errors.BlobUploadInvalid(f"malformed Content-Range {content_range!r}")
            start, expected_end = int(match.group(1)), int(match.group(2))
            if start != upload.offset or expected_end < start:
                raise errors.RangeInvalid(
                    f"chunk starts at {start}, session holds {upload.offset} bytes",
                    headers=_upload_headers(name, upload),
                )
        self._append(request, name, upload)
        if expected_end is not None and upload.offset != expected_end + 1:
            raise errors.BlobUploadInvalid(
                "chunk length does not match Content-Range",
                headers=_upload_headers(name, upload),
            )

    def _append(self, request: HttpRequest, name: str, upload: Upload) -> None:
        body: HashedBody | None = hashed_body(request)
        if body is None:
            length = request.META.get("CONTENT_LENGTH") or ""
            if length == "0" or (not length and "HTTP_TRANSFER_ENCODING" not in request.META):
                return  # no body (a PUT after the last PATCH): nothing to stage
            body = uploads.stage(_reader(request))  # the stock handler: stage it ourselves
        try:
            if body.size == 0:
                return
            _key, offset = uploads.commit_chunk(str(upload.pk), upload.offset, body)
        finally:
            body.close()
        now = timezone.now()
        # Conditional on the offset we started from: of two requests racing on one session
        # (on any hosts) exactly one moves it; the other's chunk is an ignored orphan.
        moved = Upload.objects.filter(pk=upload.pk, offset=upload.offset).update(
            offset=offset, updated=now
        )
        if not moved:
            upload.refresh_from_db()
            raise errors.RangeInvalid(
                "the session moved on while this chunk arrived",
                headers=_upload_headers(name, upload),
            )
        upload.offset, upload.updated = offset, now

"""An ASGI handler that streams blob upload bodies straight into the storage's staging area.

Django's ASGIHandler receives every request body into a SpooledTemporaryFile before the view
runs; an upload view then has to read that copy back, hash it and write it again. For blob
uploads (PATCH/PUT/POST under ``/v2/<name>/blobs/uploads/``) this handler instead writes the
body as it arrives into a file in ``get_storage().staging_dir()`` — on the local driver the
same filesystem as the objects, on S3 this host's bounded scratch — hashing it on the way. The
upload views recognise such a body (:class:`~quaysquash.registry.bodies.HashedBody`) and commit
it into storage (a rename on the local driver, an upload to the bucket on S3) instead of
copying it: each byte is staged once and hashed once, and a multi-GiB layer never sits in
memory. The staged file lives only as long as its request. Everything else is plain Django.

Serve it with ``uvicorn quaysquash.registry.asgi:application`` (or make ``quaysquash/asgi.py``
export it); with the stock handler the views fall back to copying, with identical results.
"""

from __future__ import annotations

import contextvars
import os
import re

import django
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler

from .bodies import HashedBody

UPLOAD_PATH_RE = re.compile(r"^/v2/.+/blobs/uploads/[^/]*$")
_streaming = contextvars.ContextVar("registry_upload_scope", default=False)


class RegistryASGIHandler(ASGIHandler):
    # Django slices every streamed part into 64 KiB messages, copying each slice; blobs and
    # squashed images are streamed in 1 MiB parts, which this lets through whole.
    chunk_size = 2**20
    _scope: contextvars.ContextVar = contextvars.ContextVar("registry_scope", default=None)

    async def handle(self, scope, receive, send):
        streaming = (
            scope.get("method") in ("PATCH", "PUT", "POST")
            and bool(UPLOAD_PATH_RE.match(scope.get("path", "")))
            # An empty body (starting a session, a PUT after the last PATCH) needs no file.
            and (b"content-length", b"0") not in scope.get("headers", ())
        )
        token = _streaming.set(streaming)
        scope_token = self._scope.set(scope)
        try:
            await super().handle(scope, receive, send)
        finally:
            _streaming.reset(token)
            self._scope.reset(scope_token)

    async def read_body(self, receive):
        if not _streaming.get():
            return await super().read_body(receive)
        from quaysquash.storage import get_storage

        body = HashedBody(get_storage().staging_dir(), _announced_digest(self._scope.get()))
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()
                if "body" in message:
                    body.write(message["body"])
                if not message.get("more_body", False):
                    break
        except BaseException:
            body.close()
            raise
        body.seek(0)
        return body


def _announced_digest(scope) -> str | None:
    """The ``digest`` query parameter (monolithic upload, final PUT) if it is valid, so the
    body is hashed with its algorithm (sha256 or sha512) on the way in."""
    from urllib.parse import parse_qs

    from quaysquash.storage import DIGEST_RE

    query = parse_qs((scope or {}).get("query_string", b"").decode("latin-1"))
    digest = (query.get("digest") or [None])[0]
    return digest if digest and DIGEST_RE.match(digest) else None


def get_application() -> RegistryASGIHandler:
    django.setup(set_prefix=False)
    return RegistryASGIHandler()


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")
application = get_application()

"""An ASGI handler that streams blob upload bodies straight into the upload area.

Django's ASGIHandler receives every request body into a SpooledTemporaryFile before the view
runs; an upload view then has to read that copy back, hash it and write it again. For blob
uploads (PATCH/PUT/POST under ``/v2/<name>/blobs/uploads/``) this handler instead writes the
body as it arrives into a file under ``<storage>/uploads/`` — the same filesystem as the blob
store — hashing it on the way. The upload views recognise such a body (:class:`~quaysquash.registry.bodies.HashedBody`) and
rename it into place instead of copying it: each byte is written to disk once and hashed once,
and a multi-GiB layer never sits in memory. Everything else is plain Django.

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

    async def handle(self, scope, receive, send):
        streaming = (
            scope.get("method") in ("PATCH", "PUT", "POST")
            and bool(UPLOAD_PATH_RE.match(scope.get("path", "")))
            # An empty body (starting a session, a PUT after the last PATCH) needs no file.
            and (b"content-length", b"0") not in scope.get("headers", ())
        )
        token = _streaming.set(streaming)
        try:
            await super().handle(scope, receive, send)
        finally:
            _streaming.reset(token)

    async def read_body(self, receive):
        if not _streaming.get():
            return await super().read_body(receive)
        from .storage import get_storage

        body = HashedBody(get_storage().uploads_dir)
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


def get_application() -> RegistryASGIHandler:
    django.setup(set_prefix=False)
    return RegistryASGIHandler()


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quaysquash.settings")
application = get_application()

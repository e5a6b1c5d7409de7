"""What every registry view shares: the API version header, spec errors and the auth challenge."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import digests, errors
from ..access import challenge
from ..storage import CHUNK, DigestMismatch

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


def with_registry_headers(response: HttpResponse) -> HttpResponse:
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    return response


def render_error(request: HttpRequest, exc: errors.RegistryError) -> HttpResponse:
    if exc.status == 401 and not exc.challenge:
        exc.challenge = challenge(request)
    response = exc.response()
    if exc.status < 500:
        # 401s and 404s are the protocol working (every push probes blobs with HEAD); keep
        # Django from logging each as a warning.
        response._has_been_logged = True
    if request.method == "HEAD":
        # HEAD answers carry no body; clients read the status alone.
        response.content = b""
        response["Content-Length"] = "0"
    return response


class RegistryView(View):
    """Base class: spec error bodies for every failure and the registry/2.0 header everywhere."""

    @classmethod
    def as_view(cls, **initkwargs):
        # Registry endpoints are called by programs authenticating on every request, never by
        # a browser session (see access.py), so CSRF protection does not apply to them. Done
        # here, not on dispatch, so a subclass overriding dispatch stays exempt.
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = super().dispatch(request, *args, **kwargs)
        except errors.RegistryError as exc:
            response = render_error(request, exc)
        except DigestMismatch as exc:
            response = render_error(
                request,
                errors.DigestInvalid(detail={"expected": exc.expected, "actual": exc.actual}),
            )
        return with_registry_headers(response)

    def http_method_not_allowed(self, request, *args, **kwargs) -> HttpResponse:
        response = errors.Unsupported(f"method {request.method} not allowed here").response()
        response.status_code = 405
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response


def json_response(data: object, status: int = 200, **headers: str) -> HttpResponse:
    response = JsonResponse(data, status=status, safe=False)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def empty_response(status: int, headers: dict[str, str]) -> HttpResponse:
    response = HttpResponse(b"", status=status)
    for name, value in headers.items():
        response[name] = value
    response["Content-Length"] = "0"
    return response


def check_digest(digest: str | None) -> str:
    if not digests.is_valid(digest):
        raise errors.DigestInvalid(f"invalid or unsupported digest {digest!r}")
    return digest


RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single-range ``Range`` header; ``None`` to send all."""
    match = RANGE_RE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise errors.RangeInvalid(headers={"Content-Range": f"bytes */{size}"})
    first, last = match.groups()
    if not first:
        length = int(last)
        if length == 0:
            raise errors.RangeInvalid(headers={"Content-Range": f"bytes */{size}"})
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise errors.RangeInvalid(headers={"Content-Range": f"bytes */{size}"})
    return start, end


def _is_local_file(fh) -> bool:
    try:
        fh.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def file_response(
    request: HttpRequest, fh, start: int, length: int, status: int, headers: dict[str, str]
) -> HttpResponse:
    """Stream ``length`` bytes of an open file from ``start``, never holding it in memory.

    Under ASGI the iterator must be asynchronous: Django buffers a synchronous one whole.
    """
    fh.seek(start)

    def sync_chunks() -> Iterator[bytes]:
        remaining = length
        try:
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            fh.close()

    async def async_chunks() -> AsyncIterator[bytes]:
        if _is_local_file(fh):
            # Local disk reads of 1 MiB from the page cache are short enough to do in the loop.
            for chunk in sync_chunks():
                yield chunk
            return
        # Network reads (S3 storage without redirects) would stall every request on the loop.
        chunks = sync_chunks()
        try:
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                yield chunk
        finally:
            chunks.close()  # a client that went away must not leave the GET open

    content = async_chunks() if isinstance(request, ASGIRequest) else sync_chunks()
    response = StreamingHttpResponse(content, status=status)
    for name, value in headers.items():
        response[name] = value
    response["Content-Length"] = str(length)
    return response

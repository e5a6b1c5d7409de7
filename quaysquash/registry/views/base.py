"""What every registry view shares: the API version header, spec errors and the auth challenge."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from quaysquash.storage import digests

from .. import errors
from ..access import challenge
from ..storage import DigestMismatch

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


class ContentView(RegistryView):
    """A view of stored content, where HEAD answers as GET does, without the body."""

    def serve(self, request: HttpRequest, *args, body: bool, **kwargs) -> HttpResponse:
        raise NotImplementedError

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.serve(request, *args, body=True, **kwargs)

    def head(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return self.serve(request, *args, body=False, **kwargs)


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

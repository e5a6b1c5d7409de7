"""``/v2/``: the API version check, and where anonymous clients learn how to authenticate."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from .. import errors
from ..access import caller_from_request
from .base import RegistryView, json_response


class BaseView(RegistryView):
    def get(self, request: HttpRequest) -> HttpResponse:
        caller = caller_from_request(request)
        # Anonymous callers always get the challenge: it is how docker, podman and skopeo
        # discover the token endpoint, even for a pull of a public repository.
        if caller.anonymous and caller.claims is None:
            raise errors.Unauthorized()
        return json_response({})

    def head(self, request: HttpRequest) -> HttpResponse:
        response = self.get(request)
        response.content = b""
        response["Content-Length"] = "0"
        return response


class UnknownRouteView(RegistryView):
    """A /v2/ path matching no endpoint, most often a repository name outside the grammar."""

    def get(self, request: HttpRequest) -> HttpResponse:
        raise errors.NameInvalid("no such registry endpoint or invalid repository name")

    head = post = put = patch = delete = get

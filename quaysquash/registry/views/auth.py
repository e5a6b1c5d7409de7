"""``/v2/auth``: the token endpoint of Docker's token authentication.

``GET`` with optional HTTP Basic credentials and one or more ``scope`` parameters (what docker,
podman and skopeo send), or ``POST`` of an OAuth2 password grant form. Every requested scope is
answered with the part of it the principal may have; a scope granted nothing is still listed
with no actions, as Docker's reference token server does. Wrong credentials answer 401.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse

from quaysquash.accounts.principals import BadCredentials, principal_from_basic, require_principal

from .. import tokens
from ..access import grant, subject_of, unauthorized
from .base import RegistryView, json_response


def _scopes(values: list[str]) -> list[tokens.Scope]:
    scopes = []
    for value in values:
        # OAuth2 separates scopes with spaces; Docker repeats the parameter. Accept both.
        for text in value.split():
            scope = tokens.Scope.parse(text)
            if scope is not None:
                scopes.append(scope)
    return scopes


class TokenView(RegistryView):
    def get(self, request: HttpRequest) -> HttpResponse:
        # No header: an anonymous token. Any header must be valid Basic credentials.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        try:
            principal = principal_from_basic(header, request) if header else None
        except BadCredentials as exc:
            raise unauthorized(exc) from None
        return self._token(principal, _scopes(request.GET.getlist("scope")))

    def post(self, request: HttpRequest) -> HttpResponse:
        grant_type = request.POST.get("grant_type", "")
        if grant_type != "password":
            return json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            principal = require_principal(
                request.POST.get("username", ""), request.POST.get("password", ""), request
            )
        except BadCredentials as exc:
            raise unauthorized(exc) from None
        return self._token(principal, _scopes(request.POST.getlist("scope")))

    def _token(self, principal, requested: list[tokens.Scope]) -> HttpResponse:
        access = [grant(principal, scope) for scope in requested]
        token, issued_at, ttl = tokens.issue(subject_of(principal), access)
        return json_response(
            {
                "token": token,
                "access_token": token,
                "expires_in": ttl,
                "issued_at": datetime.datetime.fromtimestamp(issued_at, tz=datetime.UTC)
                .isoformat()
                .replace("+00:00", "Z"),
            }
        )

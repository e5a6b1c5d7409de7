"""Short-lived bearer tokens for the registry: HS256 JWTs as Docker's token auth expects.

The token endpoint (``/v2/auth``) issues a token naming the principal and the scopes granted;
registry views verify it and still check the principal's current permissions, so a token is a
ceiling on access, never a way around a permission revoked since it was issued.

Signed with a key derived from SECRET_KEY (not SECRET_KEY itself, so a leaked token key does
not forge sessions). PyJWT is not needed for one algorithm: the format is three base64url parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.crypto import salted_hmac

ISSUER = "quaysquash"
ALL_ACTIONS = ("pull", "push", "delete")


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key() -> bytes:
    return salted_hmac("quaysquash.registry.tokens", "signing-key", algorithm="sha256").digest()


@dataclass
class Scope:
    """One ``type:name:actions`` scope, e.g. ``repository:acme/web:pull,push``."""

    type: str
    name: str
    actions: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        # The name may itself hold a colon only in a registry host:port, which Docker never
        # sends here; split on the first and last colon.
        typ, sep, rest = text.partition(":")
        name, sep2, actions = rest.rpartition(":")
        if not sep or not sep2 or not typ or not name:
            return None
        wanted = {a for a in actions.split(",") if a}
        if "*" in wanted:
            wanted = (wanted - {"*"}) | set(ALL_ACTIONS)
        return cls(typ, name, wanted)

    def as_claim(self) -> dict:
        return {"type": self.type, "name": self.name, "actions": sorted(self.actions)}


@dataclass
class TokenClaims:
    subject: str
    access: list[Scope]
    issued_at: int
    expires_at: int

    def actions_for(self, repository: str) -> set[str]:
        granted: set[str] = set()
        for scope in self.access:
            if scope.type == "repository" and scope.name == repository:
                granted |= scope.actions
        return granted


def issue(subject: str, access: list[Scope], ttl: int | None = None) -> tuple[str, int, int]:
    """A signed token for ``subject`` with ``access``; returns ``(token, issued_at, ttl)``."""
    ttl = settings.QS_REGISTRY_TOKEN_TTL if ttl is None else ttl
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "iss": ISSUER,
        "sub": subject,
        "aud": settings.QS_REGISTRY_SERVICE,
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(12),
        "access": [s.as_claim() for s in access],
    }
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":")).encode())
    )
    signature = hmac.new(_key(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}", now, ttl


def verify(token: str) -> TokenClaims:
    """The claims of a valid, unexpired token for this service, else :class:`InvalidToken`."""
    try:
        head_b64, payload_b64, sig_b64 = token.split(".")
        expected = hmac.new(_key(), f"{head_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig_b64)):
            raise InvalidToken("bad signature")
        header = json.loads(_unb64(head_b64))
        payload = json.loads(_unb64(payload_b64))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != "HS256":
        raise InvalidToken("unexpected algorithm")
    now = int(time.time())
    if payload.get("iss") != ISSUER or payload.get("aud") != settings.QS_REGISTRY_SERVICE:
        raise InvalidToken("token is for another issuer or service")
    if not isinstance(payload.get("exp"), int) or payload["exp"] < now:
        raise InvalidToken("token expired")
    if isinstance(payload.get("nbf"), int) and payload["nbf"] > now:
        raise InvalidToken("token not yet valid")
    access = [
        Scope(str(a.get("type")), str(a.get("name")), {str(x) for x in a.get("actions", [])})
        for a in payload.get("access") or []
        if isinstance(a, dict)
    ]
    return TokenClaims(str(payload.get("sub", "")), access, payload.get("iat", 0), payload["exp"])

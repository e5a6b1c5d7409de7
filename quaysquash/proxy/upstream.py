"""A client for one upstream registry: the distribution API's reads, with its auth flows.

Upstreams answer ``401`` with a ``WWW-Authenticate`` challenge, which says how to authenticate:

- none at all (an anonymous registry never challenges);
- ``Basic realm=…`` (distribution with htpasswd): send the configured username and password;
- ``Bearer realm=…,service=…,scope=…`` (Docker Hub, GHCR, Quay, quaysquash): ``GET`` the realm
  with ``service`` and ``scope``, with the credentials as Basic auth if there are any (anonymous
  otherwise), and send the token it answers as ``Authorization: Bearer``. Tokens are kept per
  scope until shortly before they expire.

Nothing here knows Django's models: the caller hands in an :class:`UpstreamConfig`. Credentials
never appear in exceptions, ``repr()`` or logs.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from quaysquash.registry import mediatypes

CHUNK = 1024 * 1024
# Every manifest type we store; the upstream picks among them (an index for multi-arch images).
ACCEPT = ", ".join(
    [
        mediatypes.OCI_INDEX,
        mediatypes.DOCKER_MANIFEST_LIST,
        mediatypes.OCI_MANIFEST,
        mediatypes.DOCKER_MANIFEST,
    ]
)
# Renew a token this long before the upstream says it expires.
TOKEN_MARGIN_SECONDS = 10.0
DEFAULT_TOKEN_SECONDS = 60.0
CHALLENGE_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))')


class UpstreamError(Exception):
    """The upstream could not give us what was asked; the message says why, without secrets."""


class UpstreamUnavailable(UpstreamError):
    """Connection refused or reset, timeout, TLS failure, 5xx or 429: try again later."""


class UpstreamNotFound(UpstreamError):
    """The upstream answered 404: no such repository, tag, manifest or blob there."""


class UpstreamAuthFailed(UpstreamError):
    """The upstream refused our credentials (or wants some and we have none)."""


class UpstreamTooLarge(UpstreamError):
    """A manifest or blob is larger than our limit."""


class UpstreamDigestMismatch(UpstreamError):
    """The upstream sent bytes whose digest is not the one they were asked or announced for."""


class UpstreamInvalid(UpstreamError):
    """The upstream answered something that is not a valid registry answer."""


@dataclass(frozen=True)
class UpstreamConfig:
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    verify_tls: bool = True
    ca_bundle: str = ""
    timeout: float = 30.0

    @property
    def verify(self) -> bool | str:
        # requests takes either a switch or the path of a CA bundle to trust.
        if not self.verify_tls:
            return False
        return self.ca_bundle or True


@dataclass
class UpstreamManifest:
    raw: bytes
    media_type: str
    digest: str


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``("bearer", {"realm": …, "service": …, "scope": …})`` from a WWW-Authenticate value."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): m.group(2) or m.group(3) or ""
        for m in CHALLENGE_PARAM_RE.finditer(rest)
    }
    return scheme.lower(), params


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class UpstreamClient:
    """Reads manifests and blobs from one upstream registry, authenticating as it asks."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.base = config.url.rstrip("/")
        if "://" not in self.base:
            self.base = "https://" + self.base
        self.host = urlsplit(self.base).netloc
        self.session = requests.Session()
        self.session.verify = config.verify
        self.session.headers["User-Agent"] = "quaysquash-proxy"
        self._tokens: dict[str, tuple[str, float]] = {}
        self._basic = False  # the upstream asked for Basic: send it up front from now on

    def __repr__(self) -> str:
        return f"<UpstreamClient {self.base}>"

    def close(self) -> None:
        self.session.close()

    # -- auth ---------------------------------------------------------------------------------

    @property
    def _has_credentials(self) -> bool:
        return bool(self.config.username or self.config.password)

    def _auth_header(self, scope: str) -> dict[str, str]:
        token = self._tokens.get(scope)
        if token is not None and token[1] > time.monotonic():
            return {"Authorization": f"Bearer {token[0]}"}
        # After a Basic challenge, requests adds the credentials from session.auth.
        return {}

    def _answer_challenge(self, header: str, scope: str) -> bool:
        """Obtain what the challenge asks for; False when there is nothing more to try."""
        scheme, params = parse_challenge(header)
        if scheme == "basic":
            if not self._has_credentials:
                raise UpstreamAuthFailed(f"upstream {self.host} requires credentials")
            if self._basic:
                return False  # already sent them: they are wrong
            self._basic = True
            self.session.auth = (self.config.username, self.config.password)
            return True
        if scheme == "bearer":
            if scope in self._tokens and self._tokens[scope][1] > time.monotonic():
                return False  # a fresh token was refused: it does not grant this
            self._tokens[scope] = self._fetch_token(params, scope)
            return True
        raise UpstreamAuthFailed(f"upstream {self.host} asks for unsupported auth {scheme!r}")

    def _fetch_token(self, params: dict[str, str], scope: str) -> tuple[str, float]:
        realm = params.get("realm")
        if not realm:
            raise UpstreamAuthFailed(f"upstream {self.host} sent a Bearer challenge without realm")
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        auth = (self.config.username, self.config.password) if self._has_credentials else None
        try:
            response = self.session.get(realm, params=query, auth=auth, timeout=self.config.timeout)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(
                f"token service of {self.host} unreachable ({type(exc).__name__})"
            ) from None
        with response:
            if response.status_code in (401, 403):
                raise UpstreamAuthFailed(
                    f"token service of {self.host} refused the credentials"
                    if auth
                    else f"token service of {self.host} refused anonymous access"
                )
            self._raise_for_status(response, "token")
            try:
                body = response.json()
                token = body.get("token") or body.get("access_token")
                lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_SECONDS)
            except (ValueError, AttributeError, TypeError):
                token = None
            if not isinstance(token, str) or not token:
                raise UpstreamInvalid(f"token service of {self.host} answered no token")
        expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1.0)
        return token, expires

    # -- requests -----------------------------------------------------------------------------

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status == 404:
            raise UpstreamNotFound(f"{what} not found on upstream {self.host}")
        if status in (401, 403):
            raise UpstreamAuthFailed(f"upstream {self.host} refused access to {what} ({status})")
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(f"upstream {self.host} answered {status} for {what}")
        raise UpstreamInvalid(f"upstream {self.host} answered {status} for {what}")

    def _send(
        self, method: str, path: str, scope: str, what: str, headers: dict | None = None
    ) -> requests.Response:
        url = self.base + path
        for _attempt in range(3):
            try:
                response = self.session.request(
                    method,
                    url,
                    headers={**(headers or {}), **self._auth_header(scope)},
                    stream=True,
                    timeout=self.config.timeout,
                )
            except requests.RequestException as exc:
                raise UpstreamUnavailable(
                    f"upstream {self.host} unreachable ({type(exc).__name__})"
                ) from None
            if response.status_code != 401:
                break
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            if not challenge or not self._answer_challenge(challenge, scope):
                break
        if response.status_code == 401:
            raise UpstreamAuthFailed(
                f"upstream {self.host} refused the credentials for {what}"
                if self._has_credentials
                else f"upstream {self.host} requires credentials for {what}"
            )
        try:
            self._raise_for_status(response, what)
        except UpstreamError:
            response.close()
            raise
        return response

    @staticmethod
    def scope(repository: str) -> str:
        return f"repository:{repository}:pull"

    def ping(self) -> None:
        """Check that ``/v2/`` answers (authenticating as it asks); raise otherwise."""
        response = self._send("GET", "/v2/", "", "/v2/")
        response.close()

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest the upstream announces for a tag (one ``HEAD``); ``None`` if it says none."""
        response = self._send(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            self.scope(repository),
            f"manifest {repository}:{reference}",
            {"Accept": ACCEPT},
        )
        response.close()
        return response.headers.get("Docker-Content-Digest") or None

    def get_manifest(self, repository: str, reference: str, max_bytes: int) -> UpstreamManifest:
        """The manifest's bytes, verified: against the reference when it is a digest, and
        against the ``Docker-Content-Digest`` the upstream announces."""
        what = f"manifest {repository}{'@' if ':' in reference else ':'}{reference}"
        response = self._send(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            self.scope(repository),
            what,
            {"Accept": ACCEPT},
        )
        with response:
            announced = response.headers.get("Content-Length")
            if announced and announced.isdigit() and int(announced) > max_bytes:
                raise UpstreamTooLarge(
                    f"{what} is {announced} bytes, over the {max_bytes}-byte limit"
                )
            raw = bytearray()
            try:
                for chunk in response.iter_content(64 * 1024):
                    raw += chunk
                    if len(raw) > max_bytes:
                        raise UpstreamTooLarge(f"{what} is over the {max_bytes}-byte limit")
            except requests.RequestException as exc:
                raise UpstreamUnavailable(
                    f"upstream {self.host} broke off {what} ({type(exc).__name__})"
                ) from None
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            header_digest = response.headers.get("Docker-Content-Digest", "")
        data = bytes(raw)
        digest = sha256_digest(data)
        if ":" in reference and reference != digest:
            raise UpstreamDigestMismatch(f"{what}: upstream sent bytes with digest {digest}")
        if header_digest.startswith("sha256:") and header_digest != digest:
            raise UpstreamDigestMismatch(
                f"{what}: upstream announced {header_digest} but sent bytes with digest {digest}"
            )
        return UpstreamManifest(data, media_type, digest)

    def blob_chunks(
        self, repository: str, digest: str, expected_size: int | None, max_bytes: int
    ) -> Iterator[bytes]:
        """The blob's bytes in chunks. Stops with :class:`UpstreamTooLarge` past ``max_bytes``
        and :class:`UpstreamInvalid` when the length is not ``expected_size``; the digest is for
        the consumer to check (the storage does, before anything becomes visible)."""
        what = f"blob {digest} of {repository}"
        if expected_size is not None and expected_size > max_bytes:
            raise UpstreamTooLarge(
                f"{what} is {expected_size} bytes, over the {max_bytes}-byte limit"
            )
        response = self._send(
            "GET", f"/v2/{repository}/blobs/{digest}", self.scope(repository), what
        )
        announced = response.headers.get("Content-Length")
        if announced and announced.isdigit() and int(announced) > max_bytes:
            response.close()
            raise UpstreamTooLarge(f"{what} is {announced} bytes, over the {max_bytes}-byte limit")
        return self._relay(response, what, expected_size, max_bytes)

    def _relay(
        self, response: requests.Response, what: str, expected_size: int | None, max_bytes: int
    ) -> Iterator[bytes]:
        received = 0
        limit = max_bytes if expected_size is None else min(expected_size, max_bytes)
        with response:
            try:
                for chunk in response.iter_content(CHUNK):
                    received += len(chunk)
                    if received > limit:
                        if received > max_bytes:
                            raise UpstreamTooLarge(f"{what} is over the {max_bytes}-byte limit")
                        raise UpstreamInvalid(
                            f"{what} is longer than the {expected_size} bytes announced"
                        )
                    yield chunk
            except requests.RequestException as exc:
                raise UpstreamUnavailable(
                    f"upstream {self.host} broke off {what} ({type(exc).__name__})"
                ) from None
        if expected_size is not None and received != expected_size:
            raise UpstreamInvalid(f"{what} is {received} bytes, not the {expected_size} announced")

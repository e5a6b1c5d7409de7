"""Helpers for tests against the live server (the ``stack`` fixture): an organization with a
robot, and an HTTP client that follows Bearer challenges the way containerd,
go-containerregistry and oras-go do."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import requests

from quaysquash.registry import mediatypes

PASSWORD = "live-registry-password"
CHALLENGE_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class LiveOrg:
    """An organization on the running stack: ``admin`` (a user, its admin) and ``robot``
    (write on ``<org>/app``, which exists and is private)."""

    stack: object
    org: str
    admin: str
    robot: str
    robot_token: str

    @property
    def host(self) -> str:
        return self.stack.host

    def url(self, path: str) -> str:
        return f"{self.stack.url}{path}"

    def basic(self) -> tuple[str, str]:
        return (self.admin, PASSWORD)

    def push_blob(self, repo: str, data: bytes, algorithm: str = "sha256") -> str:
        digest = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
        response = requests.post(
            self.url(f"/v2/{repo}/blobs/uploads/?digest={digest}"),
            data=data,
            auth=self.basic(),
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return digest

    def push_manifest(self, repo: str, reference: str, doc: dict) -> requests.Response:
        return requests.put(
            self.url(f"/v2/{repo}/manifests/{reference}"),
            data=json.dumps(doc).encode(),
            headers={"Content-Type": doc["mediaType"]},
            auth=self.basic(),
            timeout=30,
        )

    def image(self, repo: str, seed: str, algorithm: str = "sha256", **extra) -> dict:
        """A one-layer OCI image manifest whose blobs are pushed (not the manifest)."""
        config = json.dumps({"os": "linux", "architecture": "amd64", "seed": seed}).encode()
        layer = f"layer {seed}".encode()
        return {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": self.push_blob(repo, config, algorithm),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": mediatypes.OCI_LAYER,
                    "digest": self.push_blob(repo, layer, algorithm),
                    "size": len(layer),
                }
            ],
            **extra,
        }


def make_live_org(stack, org: str) -> LiveOrg:
    admin = f"{org}-admin"
    stack.create_user(admin, PASSWORD)
    stack.create_org(org, admin)
    stack.create_repository(f"{org}/app")
    robot, token = stack.create_robot(org, "ci", {"app": "write"})
    return LiveOrg(stack, org, admin, robot, token)


def parse_challenge(header: str) -> dict[str, str]:
    scheme, _, params = header.partition(" ")
    assert scheme == "Bearer", header
    return dict(CHALLENGE_PARAM_RE.findall(params))


@dataclass
class TokenFlow:
    """Keeps one bearer token; on a 401 with a Bearer challenge it fetches a new token for the
    challenge's scopes (space-separated, sent as repeated ``scope`` parameters) with its Basic
    credentials, and retries once. ``challenges`` records every challenge it followed."""

    base_url: str
    credentials: tuple[str, str] | None = None
    token: str | None = None
    challenges: list[dict[str, str]] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def fetch_token(self, scopes: list[str], realm: str, service: str) -> str:
        response = self.session.get(
            realm,
            params={"service": service, "scope": scopes},
            auth=self.credentials,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self._send(method, path, **kwargs)
        header = response.headers.get("WWW-Authenticate", "")
        if response.status_code == 401 and header.startswith("Bearer "):
            challenge = parse_challenge(header)
            self.challenges.append(challenge)
            scopes = challenge.get("scope", "").split()
            self.token = self.fetch_token(scopes, challenge["realm"], challenge["service"])
            response = self._send(method, path, **kwargs)
        return response

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.session.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs
        )

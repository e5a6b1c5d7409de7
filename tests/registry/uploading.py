"""Helpers of the upload tests (test_upload_*.py): a blob bigger than one read chunk, starting
a session, and what sessions leave in the storage."""

from __future__ import annotations

import hashlib
import os

from quaysquash.registry.storage import get_storage
from quaysquash.storage import get_storage as get_driver

DATA = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk


def upload_objects() -> list[str]:
    """What upload sessions keep: objects in the storage, staged bodies on this host."""
    driver = get_driver()
    staged = [p.name for p in driver.staging_dir().iterdir()]
    return [info.key for info in driver.list("uploads/")] + staged


def start(registry, repo: str = "acme/private"):
    response = registry.request("POST", f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.content
    assert response["Range"] == "0-0"
    assert response["Docker-Upload-UUID"]
    return response["Location"]


def stored(digest: str) -> bytes:
    with get_storage().open(digest) as fh:
        return fh.read()


def pull_token(client, who, repo: str) -> dict[str, str]:
    response = client.get(
        "/v2/auth", {"service": "t", "scope": f"repository:{repo}:pull"}, **who.headers()
    )
    assert response.status_code == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


def sha512_of(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()

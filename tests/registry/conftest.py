"""A small world for registry protocol tests and helpers to push content through the API.

Protocol tests drive the views with Django's test client against the pytest-django database;
blob storage goes to a per-test temporary directory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

import pytest
from django.test import Client

from quaysquash.accounts.models import Namespace, Repository
from quaysquash.registry import mediatypes
from tests import factories as f
from tests.factories import PASSWORD
from tests.support.basic_auth import basic, robot_credentials


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Who:
    """A caller: ``auth`` is the Authorization header value (``None`` for anonymous)."""

    name: str
    auth: str | None

    def headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": self.auth} if self.auth else {}


@dataclass
class World:
    acme: Namespace
    private: Repository
    public: Repository
    anonymous: Who
    admin: Who  # alice, admin of acme
    outsider: Who  # bob, a user with no access to acme
    reader: Who  # acme+reader: read on both repositories
    writer: Who  # acme+writer: write on both repositories
    foreign: Who  # other+bot: a robot of another organization


@pytest.fixture(autouse=True)
def blob_storage(settings, tmp_path):
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    # Real password hashing costs half a second per Basic-authenticated request.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Remembered authorization decisions name repositories of the previous test's database.
    from quaysquash.registry import access

    access._decisions.clear()
    return settings.QS_STORAGE_ROOT


@pytest.fixture
def world(db) -> World:
    alice = f.user("alice")
    f.user("bob")
    acme = f.org("acme", admins=[alice])
    other = f.org("other")
    private = f.repo(acme, "private")
    public = f.repo(acme, "public", public=True)
    reader = f.robot(acme, "reader", {private: "read", public: "read"})
    writer = f.robot(acme, "writer", {private: "write", public: "write"})
    foreign = f.robot(other, "bot")
    f.repo(other, "thing")
    return World(
        acme=acme,
        private=private,
        public=public,
        anonymous=Who("anonymous", None),
        admin=Who("admin", basic("alice", PASSWORD)),
        outsider=Who("outsider", basic("bob", PASSWORD)),
        reader=Who("reader", basic(*robot_credentials(reader))),
        writer=Who("writer", basic(*robot_credentials(writer))),
        foreign=Who("foreign", basic(*robot_credentials(foreign))),
    )


class Registry:
    """Thin protocol helpers over the Django test client, for one caller."""

    def __init__(self, client: Client, who: Who) -> None:
        self.client = client
        self.who = who

    def as_(self, who: Who) -> Registry:
        return Registry(self.client, who)

    def request(self, method: str, path: str, data: bytes = b"", **extra):
        headers = {**self.who.headers(), **extra}
        content_type = headers.pop("content_type", "application/octet-stream")
        return self.client.generic(method, path, data=data, content_type=content_type, **headers)

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        response = self.request("POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", data)
        assert response.status_code == 201, response.content
        return digest

    def push_manifest(self, repo: str, reference: str, raw: bytes, media_type: str):
        return self.request(
            "PUT", f"/v2/{repo}/manifests/{reference}", raw, content_type=media_type
        )

    def push_image(self, repo: str, tag: str, seed: str = "x") -> tuple[str, bytes]:
        """A tiny one-layer image; returns (manifest digest, manifest bytes)."""
        raw = image_manifest(self, repo, seed)
        response = self.push_manifest(repo, tag, raw, mediatypes.OCI_MANIFEST)
        assert response.status_code == 201, response.content
        return response["Docker-Content-Digest"], raw


def layer_bytes(seed: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = f"content {seed}\n".encode()
        info = tarfile.TarInfo(f"file-{seed}.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def image_manifest(registry: Registry, repo: str, seed: str) -> bytes:
    layer = layer_bytes(seed)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [digest_of(gzip.decompress(layer))]},
            "config": {},
        }
    ).encode()
    config_digest = registry.push_blob(repo, config)
    layer_digest = registry.push_blob(repo, layer)
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": {
                "mediaType": mediatypes.OCI_CONFIG,
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": mediatypes.OCI_LAYER_GZIP,
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        },
        indent=3,  # unusual formatting: the registry must keep the bytes as they are
    ).encode()


def error_codes(response) -> list[str]:
    return [e["code"] for e in json.loads(response.content)["errors"]]


@pytest.fixture
def registry(world, client) -> Registry:
    """The org admin's registry client (may create repositories and push anywhere in acme)."""
    return Registry(client, world.admin)


@pytest.fixture
def s3_bucket(s3_server, settings) -> str:
    """A fresh bucket on the test S3 server, with the settings pointing blob storage at it
    (under the key prefix ``reg/``); returns the bucket's name."""
    name = s3_server.create_bucket()
    s3_server.configure(settings, name, "reg/")
    return name


@pytest.fixture(scope="module")
def live_org(stack, request):
    """An organization on the running stack for this test module (see ``live.py``), named
    after the module so that modules never share one."""
    from .live import make_live_org

    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return make_live_org(stack, "lv" + module.replace("_", ""))

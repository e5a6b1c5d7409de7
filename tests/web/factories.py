"""Small builders for page and API tests: organizations, robots and real stored manifests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model

from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission, RobotAccount
from quaysquash.registry import mediatypes
from quaysquash.registry.manifests import link_blob, set_tag, store_manifest
from quaysquash.registry.models import Manifest

PASSWORD = "correct horse battery"


def user(name: str, *, superuser: bool = False):
    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(name, f"{name}@example.com", PASSWORD)
    return model.objects.create_user(name, f"{name}@example.com", PASSWORD)


def org(name: str, *, admins=(), members=()) -> Namespace:
    ns = Namespace.objects.create(name=name, kind=Namespace.Kind.ORGANIZATION)
    ns.admins.add(*admins)
    ns.members.add(*members)
    return ns


def repo(ns: Namespace, name: str, *, public: bool = False, description: str = "") -> Repository:
    return Repository.objects.create(
        namespace=ns, name=name, is_public=public, description=description
    )


def robot(ns: Namespace, short: str, grants: dict[Repository, str] | None = None) -> RobotAccount:
    bot = RobotAccount.objects.create(namespace=ns, short_name=short, description=f"{short} bot")
    for repository, role in (grants or {}).items():
        RepositoryPermission.objects.create(repository=repository, robot=bot, role=role)
    return bot


def grant_user(repository: Repository, who, role: str) -> None:
    RepositoryPermission.objects.create(repository=repository, user=who, role=role)


def _blob(repository: Repository, content: bytes, media_type: str) -> dict:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    link_blob(repository, digest, len(content), media_type)
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def image(
    repository: Repository, seed: str, layer_sizes: tuple[int, ...] = (1000, 234)
) -> Manifest:
    """An image manifest whose layers claim the given sizes (only metadata is stored)."""
    config = _blob(repository, json.dumps({"seed": seed}).encode(), mediatypes.OCI_CONFIG)
    layers = []
    for i, size in enumerate(layer_sizes):
        layer = _blob(repository, f"{seed}-{i}".encode(), mediatypes.OCI_LAYER_GZIP)
        layer["size"] = size
        # link_blob recorded the true length; the manifest states the size we want to see.
        layers.append(layer)
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": config,
            "layers": layers,
        }
    ).encode()
    return store_manifest(repository, raw)


def index(repository: Repository, platforms: dict[str, Manifest]) -> Manifest:
    manifests = []
    for platform, child in platforms.items():
        os_, arch, *variant = platform.split("/")
        plat = {"os": os_, "architecture": arch}
        if variant:
            plat["variant"] = variant[0]
        manifests.append(
            {
                "mediaType": child.media_type,
                "digest": child.digest,
                "size": child.size,
                "platform": plat,
            }
        )
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": manifests}
    ).encode()
    return store_manifest(repository, raw)


def artifact(repository: Repository) -> Manifest:
    """A manifest whose config is not an image config (a Helm chart): nothing to squash."""
    config = _blob(repository, b"{}", "application/vnd.example.helm.config.v1+json")
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "config": config, "layers": []}
    ).encode()
    return store_manifest(repository, raw)


def tag(repository: Repository, name: str, manifest: Manifest):
    return set_tag(repository, name, manifest)


@dataclass
class World:
    """acme (admin alice, member bob) with private web and public docs; other org with eve."""

    alice: object
    bob: object
    carol: object
    eve: object
    root: object
    acme: Namespace
    other: Namespace
    web: Repository
    docs: Repository
    secret: Repository
    deployer: RobotAccount
    norights: RobotAccount
    otherbot: RobotAccount
    v1: Manifest


def world() -> World:
    alice, bob, carol, eve = user("alice"), user("bob"), user("carol"), user("eve")
    root = user("root", superuser=True)
    acme = org("acme", admins=[alice], members=[bob])
    other = org("other", admins=[eve])
    web = repo(acme, "web", description="The web frontend")
    docs = repo(acme, "docs", public=True)
    secret = repo(other, "secret")
    grant_user(web, bob, "read")
    deployer = robot(acme, "deployer", {web: "read"})
    norights = robot(acme, "norights")
    otherbot = robot(other, "bot", {secret: "read"})
    v1 = image(web, "v1")
    tag(web, "v1", v1)
    tag(docs, "latest", image(docs, "docs"))
    tag(secret, "v1", image(secret, "secret"))
    return World(
        alice,
        bob,
        carol,
        eve,
        root,
        acme,
        other,
        web,
        docs,
        secret,
        deployer,
        norights,
        otherbot,
        v1,
    )

"""Builders for the objects tests need in the pytest-django database.

Users, organizations, repositories, robots and their permissions, and stored manifests and
tags (metadata only: no blob bytes are written). Every test module builds its world from these
instead of calling the ORM ad hoc, so a change to the account model is made in one place.
The same functions work inside a running stack's ``manage.py shell -c`` (``tests.factories``
is importable there): ``Stack.seed`` runs them against the stack's own database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model

from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission, RobotAccount
from quaysquash.registry import mediatypes
from quaysquash.registry.manifests import link_blob, set_tag, store_manifest
from quaysquash.registry.models import Manifest, Tag

PASSWORD = "correct horse battery"


def user(name: str, *, password: str = PASSWORD, superuser: bool = False, **extra):
    """A user with an e-mail address; ``extra`` sets model fields such as ``is_staff``."""
    model = get_user_model()
    make = model.objects.create_superuser if superuser else model.objects.create_user
    return make(name, f"{name}@example.com", password, **extra)


def org(name: str, *, admins: Iterable = (), members: Iterable = ()) -> Namespace:
    ns = Namespace.objects.create(name=name, kind=Namespace.Kind.ORGANIZATION)
    ns.admins.add(*admins)
    ns.members.add(*members)
    return ns


def repo(ns: Namespace, name: str, *, public: bool = False, description: str = "") -> Repository:
    return Repository.objects.create(
        namespace=ns, name=name, is_public=public, description=description
    )


def robot(
    ns: Namespace, short: str, grants: Mapping[Repository, str] | None = None
) -> RobotAccount:
    """A robot of ``ns`` with a role (read/write/admin) on each repository of ``grants``."""
    bot = RobotAccount.objects.create(namespace=ns, short_name=short, description=f"{short} bot")
    for repository, role in (grants or {}).items():
        grant(repository, bot, role)
    return bot


def wrong_token(token: str) -> str:
    """``token`` with its last character changed (to another one, whatever it was)."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


def grant(repository: Repository, who, role: str) -> RepositoryPermission:
    """Give a user or a robot ``role`` on ``repository``."""
    field = "robot" if isinstance(who, RobotAccount) else "user"
    return RepositoryPermission.objects.create(repository=repository, role=role, **{field: who})


def grant_user(repository: Repository, who, role: str) -> RepositoryPermission:
    return grant(repository, who, role)


def blob(repository: Repository, content: bytes, media_type: str) -> dict:
    """``content`` linked to ``repository`` as a blob; returns its descriptor."""
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    link_blob(repository, digest, len(content), media_type)
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def image(
    repository: Repository, seed: str, layer_sizes: tuple[int, ...] = (1000, 234)
) -> Manifest:
    """An image manifest whose layers claim the given sizes (only metadata is stored)."""
    config = blob(repository, json.dumps({"seed": seed}).encode(), mediatypes.OCI_CONFIG)
    layers = []
    for i, size in enumerate(layer_sizes):
        layer = blob(repository, f"{seed}-{i}".encode(), mediatypes.OCI_LAYER_GZIP)
        # link_blob recorded the true length; the manifest states the size we want to see.
        layer["size"] = size
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


def index(repository: Repository, platforms: Mapping[str, Manifest]) -> Manifest:
    """An image index over ``{"os/arch[/variant]": child manifest}``."""
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
    config = blob(repository, b"{}", "application/vnd.example.helm.config.v1+json")
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST, "config": config, "layers": []}
    ).encode()
    return store_manifest(repository, raw)


def tag(repository: Repository, name: str, manifest: Manifest) -> Tag:
    return set_tag(repository, name, manifest)

"""The world of the page and API tests (built with tests/factories.py)."""

from __future__ import annotations

from dataclasses import dataclass

from quaysquash.accounts.models import Namespace, Repository, RobotAccount
from quaysquash.registry.models import Manifest

# The builders are tests/factories.py's; ``f.user`` etc. keep working for the page tests.
from tests.factories import (  # noqa: F401
    PASSWORD,
    artifact,
    blob,
    grant_user,
    image,
    index,
    org,
    repo,
    robot,
    tag,
    user,
)


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

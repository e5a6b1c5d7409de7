"""``tag_pushed`` comes from the domain: ``set_tag`` sends it once per created or moved tag,
after commit, whoever moves the tag. On a real stack, a tag written by ``import_image`` and by
the API's retag is auto-primed (a squash gets built) like a pushed one."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import transaction

from quaysquash.registry import mediatypes
from quaysquash.registry.manifests import set_tag
from quaysquash.registry.models import Manifest
from quaysquash.registry.signals import tag_pushed
from tests.factories import PASSWORD
from tests.squash.images import make_layout
from tests.support.stack import Stack, acme_stack
from tests.support.web_session import csrf_headers, signed_in


@pytest.fixture
def received() -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    def receiver(sender, tag, **kwargs):
        seen.append((tag.name, tag.manifest.digest))

    tag_pushed.connect(receiver)
    yield seen
    tag_pushed.disconnect(receiver)


def untagged(registry, seed: str) -> Manifest:
    from .conftest import image_manifest

    raw = image_manifest(registry, "acme/private", seed)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    response = registry.push_manifest("acme/private", digest, raw, mediatypes.OCI_MANIFEST)
    assert response.status_code == 201, response.content
    return Manifest.objects.get(digest=digest)


def test_it_sends_tag_pushed_once_per_created_or_moved_tag(
    registry, world, received, django_capture_on_commit_callbacks
) -> None:
    first, second = untagged(registry, "a"), untagged(registry, "b")
    assert received == []  # pushes by digest create no tag
    with django_capture_on_commit_callbacks(execute=True):
        set_tag(world.private, "v1", first)  # created
        set_tag(world.private, "v1", first)  # unchanged: nothing
        set_tag(world.private, "v1", second)  # moved
        set_tag(world.private, "v2", first)  # another one created
        assert received == []  # not before the commit
    assert received == [("v1", first.digest), ("v1", second.digest), ("v2", first.digest)]


def test_it_sends_nothing_for_a_tag_change_that_rolled_back(
    registry, world, received, django_capture_on_commit_callbacks
) -> None:
    manifest = untagged(registry, "c")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            set_tag(world.private, "v1", manifest)
            raise RuntimeError("rolled back")
    assert received == []


# -- on a real stack: the importer and the API retag start auto-prime ------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with acme_stack("qstagevents-") as running:
        yield running


def squashes(stack: Stack, name: str) -> list[dict]:
    return stack.squash_rows(f"acme/{name}", "manifest_digest", "state")


def wait_built(stack: Stack, name: str, digest: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = squashes(stack, name)
        if {"manifest_digest": digest, "state": "ready"} in rows:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no ready squash of {digest} in acme/{name}: {rows}")
        time.sleep(0.5)


def manifest_digest(stack: Stack, name: str, tag: str) -> str:
    response = requests.head(
        f"{stack.url}/v2/acme/{name}/manifests/{tag}",
        auth=("alice", PASSWORD),
        headers={"Accept": mediatypes.OCI_MANIFEST},
        timeout=10,
    )
    assert response.status_code == 200
    return response.headers["Docker-Content-Digest"]


@pytest.mark.integration
def test_it_auto_primes_a_tag_written_by_import_image(stack: Stack, tmp_path: Path) -> None:
    stack.create_repository("acme/imported", auto_prime=True)
    layout = make_layout(tmp_path / "imported", [{"imported.txt": b"imported\n"}])
    stack.import_image(f"{layout}:latest", "acme/imported:v1")
    # Nobody pulled it: only the signal from import_image's set_tag can have built it.
    wait_built(stack, "imported", manifest_digest(stack, "imported", "v1"))


@pytest.mark.integration
def test_it_auto_primes_a_tag_moved_by_the_api(stack: Stack, tmp_path: Path) -> None:
    stack.create_repository("acme/retagged", auto_prime=False)
    for tag, content in (("v1", b"one\n"), ("v2", b"two\n")):
        layout = make_layout(tmp_path / tag, [{"version.txt": content}])
        stack.import_image(f"{layout}:latest", f"acme/retagged:{tag}")
    assert squashes(stack, "retagged") == []
    stack.python(
        "from quaysquash.accounts.models import Repository\n"
        "Repository.objects.filter(name='retagged').update(auto_prime=True)"
    )
    target = manifest_digest(stack, "retagged", "v2")

    session = signed_in(stack.url, "alice", PASSWORD)
    moved = session.put(
        f"{stack.url}/api/v1/repository/acme/retagged/tag/latest",
        json={"manifest_digest": target},
        headers=csrf_headers(session, stack.url),
        timeout=10,
    )
    assert moved.status_code == 201, moved.text[:500]
    wait_built(stack, "retagged", target)

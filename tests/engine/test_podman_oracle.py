"""Oracle: podman. With its overlay driver the layered and the squashed image give the same
container filesystem, parents that layers leave out included (podman's overlay applies layers
like dockerd's overlay2). With the vfs driver podman applies layers into one tree and keeps the
lower attributes (and follows a lower symlink, and fails on a lower file): the squash of those
images is Docker's result under vfs as well, since a single layer has no lower one."""

from __future__ import annotations

import time

import pytest

from tests.support.tools import require

from .layerkit import squash
from .oracles import Podman, created_at_load, layered_docker_archive
from .scenarios import MISSING_PARENTS, STACKS

CASES = {**MISSING_PARENTS, **{k: v for k, v in STACKS.items() if k.startswith(("01", "04"))}}


@pytest.fixture(scope="module")
def podmen():
    engines = {driver: Podman(require("podman"), driver) for driver in ("overlay", "vfs")}
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.close()


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(CASES))
def test_it_exports_what_the_layered_image_exports_from_podman_overlay(podmen, case):
    blobs = CASES[case]
    overlay, vfs = podmen["overlay"], podmen["vfs"]
    layered, squashed = f"localhost/qs/{case}:layered", f"localhost/qs/{case}:squashed"
    since = int(time.time()) - 1
    loaded = overlay.load(layered_docker_archive(blobs, layered))
    assert loaded.returncode == 0, loaded.stderr.decode()
    archive, _plan, _result = squash(blobs, format="docker", repo_tag=squashed)
    for engine in (overlay, vfs):
        loaded = engine.load(archive)
        assert loaded.returncode == 0, loaded.stderr.decode()
    want, got = created_at_load(overlay.export(layered), overlay.export(squashed), since)
    assert got == want
    # The squashed image is one layer: the vfs driver gives the same tree.
    assert vfs.export(squashed) == overlay.export(squashed)

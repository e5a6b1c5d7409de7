"""Oracle: the layered image and the squashed image, loaded into a private dockerd (fresh
data-root, so docker checks every diff_id), must export the same filesystem: content, mode,
owner, mtime, symlink targets, device numbers, hardlink groups, security.capability."""

from __future__ import annotations

import time

import pytest

from .layerkit import squash
from .oracles import created_at_load, docker_export, layered_docker_archive
from .scenarios import MISSING_PARENTS, STACKS


def _load_both(dockerd, case: str, blobs: list[bytes]):
    layered, squashed = f"qs-oracle/{case}:layered", f"qs-oracle/{case}:squashed"
    dockerd.docker("load", input=layered_docker_archive(blobs, layered))
    archive, plan, result = squash(blobs, format="docker", repo_tag=squashed)
    assert len(archive) == plan.size
    dockerd.docker("load", input=archive)
    return layered, squashed, result


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(STACKS))
def test_it_exports_the_same_tree_as_the_layered_image_from_dockerd(dockerd, case):
    layered, squashed, result = _load_both(dockerd, case, STACKS[case])
    try:
        want = docker_export(dockerd, layered)
        got = docker_export(dockerd, squashed)
        assert got == want
        inspect = dockerd.docker(
            "image", "inspect", "--format", "{{json .RootFS.Layers}}", squashed
        )
        assert result.diff_id in inspect.stdout.decode()
    finally:
        dockerd.docker("rmi", "-f", layered, squashed, check=False)


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(MISSING_PARENTS))
def test_it_gives_parents_a_layer_leaves_out_the_attributes_dockerd_gives_them(dockerd, case):
    since = int(time.time()) - 1
    layered, squashed, _result = _load_both(dockerd, case, MISSING_PARENTS[case])
    try:
        want, got = created_at_load(
            docker_export(dockerd, layered), docker_export(dockerd, squashed), since
        )
        assert got == want
    finally:
        dockerd.docker("rmi", "-f", layered, squashed, check=False)

"""Oracle: the layered image and the squashed image, loaded into a private dockerd (fresh
data-root, so docker checks every diff_id), must export the same filesystem: content, mode,
owner, mtime, symlink targets, device numbers, hardlink groups, security.capability."""

from __future__ import annotations

import pytest

from .layerkit import squash
from .oracles import docker_export, layered_docker_archive
from .scenarios import STACKS


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(STACKS))
def test_it_exports_the_same_tree_as_the_layered_image_from_dockerd(dockerd, case):
    blobs = STACKS[case]
    layered, squashed = f"qs-oracle/{case}:layered", f"qs-oracle/{case}:squashed"
    dockerd.docker("load", input=layered_docker_archive(blobs, layered))
    archive, plan, result = squash(blobs, format="docker", repo_tag=squashed)
    assert len(archive) == plan.size
    dockerd.docker("load", input=archive)
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

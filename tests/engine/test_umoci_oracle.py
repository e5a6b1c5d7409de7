"""Oracle for what dockerd cannot express: the layered OCI layout and the squashed OCI archive,
each unpacked by ``umoci raw unpack``, must give the same tree (including sub-second mtimes,
user xattrs and non-UTF-8 names)."""

from __future__ import annotations

import stat

import pytest

from tests.support.tools import require

from .layerkit import squash
from .oracles import extract_archive, oci_layout_of_layers, umoci_unpack
from .scenarios import STACKS, UMOCI_ONLY

CASES = {**STACKS, **UMOCI_ONLY}
# umoci touches a directory when it meets a whiteout of that directory after the directory's
# own entry in the same layer (it removes nothing, rightly, but the mtime becomes "now").
DIR_MTIME_UNRELIABLE = {"02-whiteout-after-own-entry"}


def _without_dir_mtimes(tree: dict) -> dict:
    return {k: (v[:4] + (0,) + v[5:]) if stat.S_ISDIR(v[0]) else v for k, v in tree.items()}


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(CASES))
def test_it_unpacks_to_the_same_tree_as_the_layered_image_with_umoci(tmp_path, case):
    umoci = require("umoci")
    blobs = CASES[case]
    oci_layout_of_layers(blobs, tmp_path / "layered", "layered")
    archive, plan, _result = squash(blobs, format="oci", repo_tag="squashed")
    assert len(archive) == plan.size
    extract_archive(archive, tmp_path / "squashed")
    want = umoci_unpack(umoci, tmp_path / "layered", "layered", tmp_path / "want")
    got = umoci_unpack(umoci, tmp_path / "squashed", "squashed", tmp_path / "got")
    if case in DIR_MTIME_UNRELIABLE:
        got, want = _without_dir_mtimes(got), _without_dir_mtimes(want)
    assert got == want

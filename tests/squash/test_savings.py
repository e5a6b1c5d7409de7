"""quaysquash.squash.savings: what upper layers delete or overwrite, from real layer indexes."""

from __future__ import annotations

import io

from quaysquash.squash.savings import layer_savings, savings_of
from squashengine import plan_squash, write_squash
from tests.engine.layerkit import E, config_for, inputs, layer


def indexes(*blobs: bytes):
    return [i.index for i in inputs(list(blobs))]


BASE = layer(
    E("a", data=b"A" * 100),
    E("b", data=b"B" * 200),
    E("dir", type="dir"),
    E("dir/c", data=b"C" * 50),
    E("keep", data=b"K" * 10),
)
UPPER = layer(
    E(".wh.a"),
    E("b", data=b"b" * 20),
    E("dir", type="dir"),
    E("dir/.wh..wh..opq"),
)


def test_it_counts_what_upper_layers_delete_and_overwrite():
    base, upper = layer_savings(indexes(BASE, UPPER))
    assert (base.files, base.file_bytes) == (4, 360)
    assert (base.deleted_files, base.deleted_bytes) == (2, 150)  # a (whiteout), dir/c (opaque)
    assert (base.overwritten_files, base.overwritten_bytes) == (1, 200)  # b
    assert base.kept_bytes == 10 and base.lost_bytes == 350
    assert (upper.files, upper.file_bytes, upper.lost_bytes) == (1, 20, 0)
    assert upper.whiteouts == 2


def test_it_keeps_content_that_survives_through_a_hardlink():
    lower = layer(E("x", data=b"X" * 40), E("y", type="hardlink", link="x"))
    gone = layer(E(".wh.x"))
    (row, _) = layer_savings(indexes(lower, gone))
    assert row.deleted_files == 0 and row.deleted_bytes == 0  # y still holds x's bytes
    replaced = layer(E("x", data=b"new"), E("y", data=b"new too"))
    (row, _) = layer_savings(indexes(lower, replaced))
    assert row.overwritten_files == 2 and row.overwritten_bytes == 40


def test_it_replaces_a_directory_with_a_file_and_loses_the_subtree():
    lower = layer(E("d", type="dir"), E("d/one", data=b"1" * 7), E("d/two", data=b"2" * 9))
    upper = layer(E("d", data=b"now a file"))
    (row, _) = layer_savings(indexes(lower, upper))
    assert (row.deleted_files, row.deleted_bytes) == (2, 16)


def test_it_gives_the_engine_squashed_size_and_the_real_output_matches():
    idx = indexes(BASE, UPPER)
    config = config_for(inputs([BASE, UPPER]))
    savings = savings_of(idx, config, [1111, 222])
    assert savings.layered_compressed == 1333
    assert savings.layered_tar == sum(i.tar_size for i in idx)
    written = io.BytesIO()
    result = write_squash(plan_squash(inputs([BASE, UPPER]), config, format="docker"), written)
    assert savings.squashed_archive == result.size == len(written.getvalue())
    assert savings.saved_bytes == savings.layered_tar - savings.squashed_tar > 0
    data = savings.as_dict()
    assert data["deleted_bytes"] == 150 and data["overwritten_bytes"] == 200
    assert data["lost_files"] == 3 and len(data["layers"]) == 2

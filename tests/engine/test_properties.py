"""Property-based tests: random layer stacks with whiteouts, opaque directories, type changes and
hardlinks; the squashed tree must equal the reference applier's tree."""

from __future__ import annotations

import io
import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squashengine import SquashError, plan_squash, write_squash

from .layerkit import (
    E,
    check_structure,
    compress,
    config_for,
    inputs,
    layer,
    reference_tree,
    squash,
)

NAMES = ["a", "b", "c"]
PATHS = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(NAMES, repeat=n)]
MODES_DIR = [0o755, 0o700, 0o1777]
MODES_FILE = [0o644, 0o600, 0o4755]
MTIMES = [1_600_000_000, 1_700_000_000]

path_st = st.sampled_from(PATHS)
op_st = st.one_of(
    st.tuples(
        st.just("file"),
        path_st,
        st.binary(max_size=40),
        st.sampled_from(MODES_FILE),
        st.sampled_from(MTIMES),
    ),
    st.tuples(st.just("dir"), path_st, st.sampled_from(MODES_DIR), st.sampled_from([0, 1000])),
    st.tuples(st.just("symlink"), path_st, st.sampled_from(["t1", "a", "b/c", "../up", "/abs"])),
    st.tuples(st.just("hardlink"), path_st, st.integers(0, 5)),
    st.tuples(st.just("whiteout"), path_st, st.booleans()),
    st.tuples(st.just("opaque"), path_st, st.booleans()),
)
stack_st = st.lists(st.lists(op_st, max_size=10), min_size=1, max_size=5)


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]


def _under_own_non_dir(state: dict[str, str], path: str) -> bool:
    # No producer writes an entry under its own file or symlink (Docker cannot load that).
    return any(state.get(anc, "dir") != "dir" for anc in _ancestors(path))


def build_layer(ops, compression: str) -> bytes:
    """Entries for ``ops``, with parent directories like real layer producers write them."""
    entries: list[E] = []
    state: dict[str, str] = {}  # what this layer itself has put at each path
    files: list[str] = []

    def put(path: str, kind: str) -> None:
        if kind != "dir" or state.get(path) not in (None, "dir"):
            for key in [k for k in state if k.startswith(path + "/")]:
                del state[key]
        state[path] = kind

    def parents(path: str) -> None:
        for anc in _ancestors(path):
            entries.append(E(anc, "dir"))
            put(anc, "dir")

    for op in ops:
        kind, path = op[0], op[1]
        if kind == "file":
            parents(path)
            entries.append(E(path, data=op[2], mode=op[3], mtime=op[4]))
            put(path, "file")
            files.append(path)
        elif kind == "dir":
            parents(path)
            entries.append(E(path, "dir", mode=op[2], uid=op[3]))
            put(path, "dir")
        elif kind == "symlink":
            parents(path)
            entries.append(E(path, "symlink", link=op[2]))
            put(path, "symlink")
        elif kind == "hardlink":
            live = [f for f in files if state.get(f) == "file" and f != path]
            live = [f for f in live if not f.startswith(path + "/")]
            if not live:
                continue
            target = live[op[2] % len(live)]
            parents(path)
            if state.get(target) != "file":
                continue
            entries.append(E(path, "hardlink", link=target, mode=0o644))
            put(path, "file")
        elif kind == "whiteout":
            if op[2] or _under_own_non_dir(state, path):
                parents(path)
            head, _, base = path.rpartition("/")
            entries.append(E(f"{head}/.wh.{base}" if head else f".wh.{base}"))
        elif kind == "opaque":
            if op[2] or _under_own_non_dir(state, path + "/x"):
                parents(path)
                entries.append(E(path, "dir"))
                put(path, "dir")
            entries.append(E(f"{path}/.wh..wh..opq"))
    return layer(*entries, compression=compression)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack=stack_st, compression=st.sampled_from(["none", "gzip", "zstd"]))
def test_it_matches_the_reference_applier_on_random_stacks(stack, compression):
    blobs = [build_layer(ops, compression) for ops in stack]
    with tempfile.TemporaryDirectory() as tmp:
        want = reference_tree(blobs, Path(tmp), "ref")
        out, plan, result = squash(blobs)
        assert len(out) == plan.size == result.size
        check_structure(out)
        got = reference_tree([out], Path(tmp), "sq")
    assert got == want


@settings(max_examples=40, deadline=None)
@given(stack=stack_st, fmt=st.sampled_from(["docker", "oci", "rootfs"]))
def test_it_writes_exactly_the_planned_bytes_deterministically(stack, fmt):
    blobs = [build_layer(ops, "gzip") for ops in stack]
    outs = []
    for _ in range(2):
        plan = plan_squash(
            layers := inputs(blobs), config_for(layers), format=fmt, repo_tag="r/x:1"
        )
        buf = io.BytesIO()
        result = write_squash(plan, buf)
        assert len(buf.getvalue()) == plan.size == result.size
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]


SAMPLE = layer(
    E("d", "dir"),
    E("d/" + "x" * 150, data=b"long name" * 50),
    E("d/f", data=bytes(range(256)) * 8),
    E("d/h", "hardlink", link="d/f"),
    E("d/s", "symlink", link="f"),
    E("d/.wh.gone"),
    E("d/.wh..wh..opq"),
    E("ids", data=b"i", uid=3_000_000, pax={"mtime": "1.5", "SCHILY.xattr.user.a": "b"}),
)


@settings(max_examples=200, deadline=None)
@given(
    compression=st.sampled_from(["none", "gzip", "zstd"]),
    flips=st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(1, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 1 << 30)),
)
def test_it_fails_only_with_squash_errors_on_damaged_layers(compression, flips, cut):
    blob = bytearray(compress(SAMPLE, compression))
    for position, mask in flips:
        blob[position % len(blob)] ^= mask
    if cut is not None:
        blob = blob[: cut % (len(blob) + 1)]
    blob = bytes(blob)
    try:
        out, plan, result = squash([blob])
    except SquashError:
        return
    assert len(out) == plan.size == result.size


def _fix_checksums(raw: bytearray, offsets: list[int]) -> None:
    for off in offsets:
        block = raw[off : off + 512]
        if len(block) < 512:
            continue
        block[148:156] = b"        "
        raw[off + 148 : off + 156] = b"%06o\0 " % sum(block)


@settings(max_examples=300, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(1, 255)), min_size=1, max_size=3)
)
def test_it_fails_only_with_squash_errors_on_damaged_headers_with_valid_checksums(flips):
    [item] = inputs([SAMPLE])
    idx = item.index
    heads = []
    for off, length in zip(idx.header_offsets, idx.header_lengths, strict=True):
        heads += [off, off + length - 512]
    raw = bytearray(SAMPLE)
    for position, mask in flips:
        off = heads[position % len(heads)] + (position >> 8) % 512
        raw[off] ^= mask
    _fix_checksums(raw, heads)
    try:
        out, plan, result = squash([bytes(raw)])
    except SquashError:
        return
    assert len(out) == plan.size == result.size

"""The merge semantics of issue 4, case by case, against the reference applier (layers extracted
one after another into a directory) and with explicit expectations."""

from __future__ import annotations

import io
import stat
import subprocess
import tarfile

import pytest

from squashengine import SquashError, UnsafePathError

from .layerkit import (
    E,
    check_structure,
    clean,
    layer,
    reference_tree,
    squash,
    squashed_tree,
    tar_members,
)


def same(blobs, tmp_path):
    want = reference_tree(blobs, tmp_path)
    got = squashed_tree(blobs, tmp_path)
    assert got == want
    return got


def names(blobs):
    out, _, _ = squash(blobs)
    return [m.name for m in tar_members(out)]


# 1 ------------------------------------------------------------------------------------------
def test_it_hides_a_lower_path_and_everything_under_it_with_a_whiteout(tmp_path):
    l1 = layer(E("a", "dir"), E("a/b", "dir"), E("a/b/c", data=b"c"), E("a/keep", data=b"k"))
    l2 = layer(E("a", "dir"), E("a/.wh.b"))
    tree = same([l1, l2], tmp_path)
    assert "a/b" not in tree and "a/b/c" not in tree and "a/keep" in tree
    assert not any(".wh." in n for n in names([l1, l2]))


# 2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("whiteout_first", [True, False])
def test_it_applies_a_whiteout_only_to_lower_layers(tmp_path, whiteout_first):
    l1 = layer(E("x", data=b"lower"))
    entries = [E(".wh.x"), E("x", data=b"upper")]
    l2 = layer(*(entries if whiteout_first else entries[::-1]))
    tree = same([l1, l2], tmp_path)
    assert tree["x"][0] == stat.S_IFREG
    out, _, _ = squash([l1, l2])
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("x").read() == b"upper"


# 3 ------------------------------------------------------------------------------------------
def test_it_keeps_only_new_children_when_a_deleted_path_is_recreated(tmp_path):
    l1 = layer(E("d", "dir"), E("d/old1", data=b"1"), E("d/sub", "dir"), E("d/sub/old2"))
    l2 = layer(E(".wh.d"))
    l3 = layer(E("z", data=b"unrelated"))
    l4 = layer(E("d", "dir", mode=0o700), E("d/new", data=b"n"))
    tree = same([l1, l2, l3, l4], tmp_path)
    assert sorted(k for k in tree if k.startswith("d")) == ["d", "d/new"]
    assert tree["d"][1] == 0o700


# 4 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("marker_at", [0, 1, 2])
def test_it_hides_lower_children_under_an_opaque_marker_wherever_it_stands(tmp_path, marker_at):
    l1 = layer(E("o", "dir", mode=0o750), E("o/lower1", data=b"1"), E("o/sub", "dir"), E("o/sub/x"))
    entries = [E("o", "dir", mode=0o711), E("o/mine", data=b"m")]
    entries.insert(marker_at, E("o/.wh..wh..opq"))
    l2 = layer(*entries)
    tree = same([l1, l2], tmp_path)
    assert sorted(k for k in tree if k.startswith("o")) == ["o", "o/mine"]
    assert tree["o"][1] == 0o711


def test_it_makes_a_directory_0755_root_under_an_opaque_marker_alone(tmp_path):
    # dockerd (overlay2) creates the marker's parent in the layer: the lower attributes go.
    l1 = layer(E("o", "dir", mode=0o750, uid=7), E("o/lower", data=b"1"))
    l2 = layer(E("o/.wh..wh..opq"), E("o/mine", data=b"m"))
    tree = same([l1, l2], tmp_path)
    assert tree["o"][1:3] == (0o755, 0)
    assert sorted(k for k in tree if k.startswith("o")) == ["o", "o/mine"]


# 5 ------------------------------------------------------------------------------------------
def test_it_replaces_a_directory_by_a_file_and_drops_its_lower_subtree(tmp_path):
    l1 = layer(E("p", "dir"), E("p/in", "dir"), E("p/in/f", data=b"f"))
    l2 = layer(E("p", data=b"now a file"))
    tree = same([l1, l2], tmp_path)
    assert tree["p"][0] == stat.S_IFREG and not any(k.startswith("p/") for k in tree)


def test_it_replaces_a_file_by_a_directory(tmp_path):
    l1 = layer(E("p", data=b"file"))
    l2 = layer(E("p", "dir"), E("p/child", data=b"c"))
    tree = same([l1, l2], tmp_path)
    assert tree["p"][0] == stat.S_IFDIR and "p/child" in tree


def test_it_replaces_a_directory_by_a_symlink_as_in_usrmerge(tmp_path):
    l1 = layer(E("bin", "dir"), E("bin/sh", data=b"sh"), E("usr", "dir"), E("usr/bin", "dir"))
    l2 = layer(E("usr/bin/sh", data=b"sh2"), E("bin", "symlink", link="usr/bin"))
    tree = same([l1, l2], tmp_path)
    assert tree["bin"][0] == stat.S_IFLNK and tree["bin"][5] == "usr/bin"
    assert "bin/sh" not in tree


def test_it_replaces_a_symlink_by_a_directory(tmp_path):
    l1 = layer(E("lib", "symlink", link="usr/lib"), E("usr", "dir"), E("usr/lib", "dir"))
    l2 = layer(E("lib", "dir"), E("lib/x", data=b"x"))
    tree = same([l1, l2], tmp_path)
    assert tree["lib"][0] == stat.S_IFDIR and "lib/x" in tree


# 6 ------------------------------------------------------------------------------------------
def test_it_unions_a_directory_across_layers_with_the_uppermost_attributes(tmp_path):
    l1 = layer(E("d", "dir", mode=0o755, uid=1), E("d/a", data=b"a"))
    l2 = layer(E("d", "dir", mode=0o700, uid=2, mtime=1_600_000_000), E("d/b", data=b"b"))
    l3 = layer(E("d/c", data=b"c"), E("d", "dir", mode=0o700, uid=2, mtime=1_600_000_000))
    tree = same([l1, l2, l3], tmp_path)
    assert {"d/a", "d/b", "d/c"} <= set(tree)
    assert tree["d"][1:5] == (0o700, 2, 0, 1_600_000_000 * 10**9)
    # the directory is written once, before its children, with its upper header
    listed = names([l1, l2, l3])
    assert [n for n in listed if n.rstrip("/") == "d"] == ["d"]
    assert listed.index("d") < listed.index("d/a")


def test_it_makes_a_parent_a_layer_leaves_out_a_0755_root_directory(tmp_path):
    # What dockerd (overlay2) and podman (overlay) do: the layer creates the parent itself, so
    # the lower directory's mode, owner and xattrs are hidden; its children stay.
    xattr = {"SCHILY.xattr.user.qs": "lower"}
    l1 = layer(E("d", "dir", mode=0o700, uid=2, pax=xattr), E("d/e", "dir", mode=0o750, uid=3))
    l2 = layer(E("d/e/a", data=b"a"))  # neither d nor d/e
    tree = same([l1, l2], tmp_path)
    assert tree["d"][1:4] == (0o755, 0, 0) and tree["d"][7] == ()
    assert tree["d/e"][1:4] == (0o755, 0, 0)
    assert "d/e/a" in tree
    listed = names([l1, l2])
    assert [n for n in listed if n.rstrip("/") == "d"] == ["d"]  # once, implied


def test_it_replaces_a_lower_symlink_or_file_by_the_directory_a_layer_implies(tmp_path):
    l1 = layer(E("tmp", "dir", mode=0o1777), E("evil", "symlink", link="/tmp"), E("f", data=b"f"))
    l2 = layer(E("evil/x", data=b"x"), E("f/y", data=b"y"))
    tree = same([l1, l2], tmp_path)
    assert tree["evil"][0] == stat.S_IFDIR and "evil/x" in tree and "tmp/x" not in tree
    assert tree["f"][0] == stat.S_IFDIR and "f/y" in tree


def test_it_rejects_an_entry_under_a_non_directory_of_its_own_layer():
    for parent in (E("s", "symlink", link="/tmp"), E("s", data=b"file")):
        with pytest.raises(UnsafePathError, match="non-directory entry of the same layer"):
            squash([layer(E("tmp", "dir"), parent, E("s/x", data=b"x"))])


# 7 ------------------------------------------------------------------------------------------
def test_it_keeps_the_hardlinked_content_when_the_target_is_rewritten(tmp_path):
    l1 = layer(E("t", data=b"old"), E("h", "hardlink", link="t"), E("h2", "hardlink", link="t"))
    l2 = layer(E("t", data=b"new"))
    tree = same([l1, l2], tmp_path)
    assert tree["h"][6] == ("h", "h2")
    out, _, _ = squash([l1, l2])
    check_structure(out)
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("h").read() == b"old"
        assert tar.extractfile("t").read() == b"new"
        assert tar.getmember("h2").islnk() and tar.getmember("h2").linkname == "h"


def test_it_keeps_the_hardlinked_content_when_the_target_is_deleted(tmp_path):
    l1 = layer(E("d", "dir"), E("d/t", data=b"content", mode=0o4755), E("e", "dir"))
    # A link to a lower layer's file: tar writers give its header the inode's attributes.
    l2 = layer(E("e/h", "hardlink", link="d/t", mode=0o4755))
    l3 = layer(E(".wh.d"))
    tree = same([l1, l2, l3], tmp_path)
    assert "d" not in tree and tree["e/h"][1] == 0o4755


def test_it_writes_link_targets_before_links_across_layers(tmp_path):
    l1 = layer(E("z", "dir"), E("z/t", data=b"1"))
    l2 = layer(E("a", "dir"), E("a/l", "hardlink", link="z/t"))
    tree = same([l1, l2], tmp_path)
    assert tree["a/l"][6] == ("a/l", "z/t")


def test_it_links_to_a_lower_file_its_own_layer_deletes(tmp_path):
    l1 = layer(E("t", data=b"lower content"))
    l2 = layer(E("h", "hardlink", link="t"), E(".wh.t"))
    out, _, _ = squash([l1, l2])
    check_structure(out)
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.getnames() == ["h"]
        assert tar.extractfile("h").read() == b"lower content"


def test_it_rejects_a_hardlink_to_nothing():
    l1 = layer(E("l", "hardlink", link="missing"))
    with pytest.raises(SquashError, match="hardlink"):
        squash([l1])


# 8 ------------------------------------------------------------------------------------------
def test_it_treats_spellings_of_a_path_as_one_path(tmp_path):
    l1 = layer(E("./a", "dir"), E("a/b", "dir"), E("/a/b/c", data=b"1"))
    l2 = layer(E("a/", "dir", mode=0o701), E("a//b/./c", data=b"2"), E("./a/b/", "dir"))
    tree = same([l1, l2], tmp_path)
    listed = [clean(n) for n in names([l1, l2])]
    assert sorted(listed) == ["a", "a/b", "a/b/c"]
    assert tree["a"][1] == 0o701


def test_it_keeps_the_last_of_duplicate_entries_in_a_layer(tmp_path):
    l1 = layer(E("f", data=b"first"), E("f", data=b"second"), E("g", "dir"), E("g", data=b"file"))
    tree = same([l1], tmp_path)
    assert tree["g"][0] == stat.S_IFREG
    out, _, _ = squash([l1])
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.extractfile("f").read() == b"second"


# 9 ------------------------------------------------------------------------------------------
def test_it_preserves_long_names_and_odd_metadata_exactly(tmp_path):
    long_dir = "L" * 120
    long_name = f"{long_dir}/{'n' * 150}"
    cap = "\x01\x00\x00\x02\x00\x20\x00\x00" + "\x00" * 12
    entries = [
        E("dev", "dir"),
        E("dev/null", "char", devmajor=1, devminor=3, mode=0o666),
        E("dev/loop0", "block", devmajor=7, devminor=0, mode=0o660),
        E("fifo", "fifo", mode=0o600),
        E(long_dir, "dir"),
        E(long_name, data=b"long"),
        E(long_dir + "/sym", "symlink", link="../" + "t" * 200),
        E("bits", "dir", mode=0o1777),
        E("bits/suid", data=b"s", mode=0o4755),
        E("bits/sgid", data=b"g", mode=0o2755),
        E("ids", data=b"i", uid=3_000_000, gid=4_000_000),
        E("frac", data=b"f", pax={"mtime": "1700000000.123456789"}),
        E(b"non-utf8-\xff\xfe", data=b"bytes"),
        E(
            "xattr",
            data=b"x",
            pax={"SCHILY.xattr.user.k": "v", "SCHILY.xattr.security.capability": cap},
        ),
    ]
    l1 = layer(*entries)
    l2 = layer(E("other", data=b"o"))
    tree = same([l1, l2], tmp_path)
    assert tree["dev/null"][5] == (1, 3)
    assert tree["bits"][1] == 0o1777 and tree["bits/suid"][1] == 0o4755
    assert tree["ids"][2:4] == (3_000_000, 4_000_000)
    assert tree["frac"][4] == 1_700_000_000_123_456_789
    assert tree[long_dir + "/sym"][5] == "../" + "t" * 200
    assert dict(tree["xattr"][7])["user.k"] == b"v"
    assert "non-utf8-\udcff\udcfe" in tree


def test_it_preserves_gnu_format_long_names_and_non_utf8_names(tmp_path):
    l1 = layer(
        E("g" * 150, data=b"gnu"),
        E(b"\xe9t\xe9", data=b"latin1"),
        E("s", "symlink", link="x" * 300),
        fmt=tarfile.GNU_FORMAT,
    )
    l2 = layer(E("h", "hardlink", link="g" * 150), fmt=tarfile.GNU_FORMAT)
    l3 = layer(E("g" * 150, data=b"replaced"), fmt=tarfile.GNU_FORMAT)
    same([l1, l2, l3], tmp_path)


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_it_expands_sparse_files_to_their_real_content(tmp_path, fmt):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as f:
        for k in range(12):  # more holes than an old GNU header holds: extension blocks
            f.seek((k * 3 + 1) << 20)
            f.write(b"data %d" % k * 1000)
        f.seek(40 << 20)
        f.write(b"end")
    blob = subprocess.run(
        ["tar", "--sparse", f"--format={fmt}", "-C", str(src), "-cf", "-", "sparse"],
        check=True,
        capture_output=True,
    ).stdout
    out, _, _ = squash([blob])
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        member = tar.getmember("sparse")
        assert member.isreg() and not member.issparse()
        data = tar.extractfile(member).read()
    expected = (src / "sparse").read_bytes()
    assert len(data) == len(expected) and data == expected


# 10 -----------------------------------------------------------------------------------------
def test_it_drops_whiteout_metadata_entries(tmp_path):
    l1 = layer(
        E("a", data=b"a"),
        E(".wh..wh.plnk", "dir"),
        E(".wh..wh.plnk/123", data=b"x"),
        E("d/.wh..wh.x"),
    )
    assert sorted(names([l1])) == ["a"]


@pytest.mark.parametrize("bad", [".wh.", "d/.wh..."])
def test_it_rejects_a_bare_whiteout_or_one_naming_dotdot(bad):
    with pytest.raises(UnsafePathError) as err:
        squash([layer(E("d", "dir"), E(bad))])
    assert "sha256:" in str(err.value)


# 11 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/../etc/passwd"])
def test_it_rejects_an_entry_escaping_the_root(name):
    blob = layer(E("ok", data=b"1"), E(name, data=b"x"))
    with pytest.raises(UnsafePathError) as err:
        squash([blob])
    assert err.value.digest.startswith("sha256:")


def test_it_rejects_a_hardlink_escaping_the_root():
    with pytest.raises(UnsafePathError):
        squash([layer(E("h", "hardlink", link="../../etc/shadow"))])


def test_it_keeps_symlink_targets_as_strings_and_never_follows_them(tmp_path):
    l1 = layer(
        E("etc", "dir"), E("link", "symlink", link="/etc"), E("up", "symlink", link="../../x")
    )
    # A path under a lower symlink: the layer's own parent directory replaces the symlink
    # (as dockerd does); nothing goes through it into /etc.
    l2 = layer(E("link/passwd", data=b"through the link?"))
    l3 = layer(E(".wh.up"), E("up", "symlink", link="/new/target"))
    out, _, _ = squash([l1, l2, l3])
    members = {m.name.rstrip("/"): m for m in tar_members(out)}
    assert members["link"].isdir() and members["link"].mode == 0o755
    assert members["up"].linkname == "/new/target"
    assert "link/passwd" in members and "etc/passwd" not in members


# 12 -----------------------------------------------------------------------------------------
def test_it_reads_gzip_zstd_and_plain_layers_and_empty_layers(tmp_path):
    blobs = [
        layer(E("a", "dir"), E("a/gz", data=b"g" * 5000), compression="gzip"),
        layer(E("a/zst", data=b"z" * 5000), compression="zstd"),
        layer(compression="gzip"),
        b"",
        layer(E("a/plain", data=b"p"), compression="none"),
    ]
    tree = same(blobs, tmp_path)
    assert {"a/gz", "a/zst", "a/plain"} <= set(tree)

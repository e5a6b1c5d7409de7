"""Layer stacks for the oracle tests, one per merge case of issue 4 (numbers in the names).
Paths stay clear of what container engines add themselves (/dev, /etc, /proc, /sys)."""

from __future__ import annotations

import tarfile

from .layerkit import E, layer

CAP = "\x01\x00\x00\x02\x00\x20\x00\x00" + "\x00" * 12


def _stacks() -> dict[str, list[bytes]]:
    s: dict[str, list[bytes]] = {}
    s["01-whiteout-hides-subtree"] = [
        layer(E("a", "dir"), E("a/b", "dir"), E("a/b/c", data=b"c"), E("a/keep", data=b"k")),
        layer(E("a", "dir"), E("a/.wh.b")),
    ]
    s["02-whiteout-before-own-entry"] = [
        layer(E("x", data=b"lower")),
        layer(E(".wh.x"), E("x", data=b"upper-x")),
    ]
    s["03-delete-then-recreate"] = [
        layer(E("d", "dir"), E("d/old", data=b"1"), E("d/sub", "dir"), E("d/sub/old2")),
        layer(E(".wh.d")),
        layer(E("z", data=b"z")),
        layer(E("d", "dir", mode=0o700), E("d/new", data=b"n")),
    ]
    s["04-opaque-directories"] = [
        layer(
            E("o", "dir", mode=0o750),
            E("o/lower", data=b"1"),
            E("o/sub", "dir"),
            E("o/sub/x"),
            E("p", "dir", mode=0o751, uid=7),
            E("p/lower", data=b"2"),
        ),
        layer(
            E("o", "dir", mode=0o711),
            E("o/mine", data=b"m"),
            E("o/.wh..wh..opq"),
            E("p", "dir", mode=0o701),
            E("p/mine", data=b"m"),
            E("p/.wh..wh..opq"),
        ),
    ]
    s["05-type-changes"] = [
        layer(
            E("df", "dir"),
            E("df/in", "dir"),
            E("df/in/f", data=b"f"),
            E("fd", data=b"file"),
            E("usr", "dir"),
            E("usr/bin", "dir"),
            E("bin", "dir"),
            E("bin/sh", data=b"sh"),
            E("lib", "symlink", link="usr/lib"),
        ),
        layer(
            E("df", data=b"now a file"),
            E("fd", "dir"),
            E("fd/child", data=b"c"),
            E("usr", "dir"),
            E("usr/bin", "dir"),
            E("usr/bin/sh", data=b"sh2"),
            E("bin", "symlink", link="usr/bin"),
            E("lib", "dir"),
            E("lib/x", data=b"x"),
        ),
    ]
    s["06-directory-union"] = [
        layer(E("d", "dir", mode=0o755, uid=1), E("d/a", data=b"a")),
        layer(E("d", "dir", mode=0o700, uid=2, mtime=1_600_000_000), E("d/b", data=b"b")),
        layer(E("d", "dir", mode=0o711, uid=3, mtime=1_650_000_000), E("d/c", data=b"c")),
    ]
    s["07-hardlinks"] = [
        layer(
            E("t", data=b"old"),
            E("h", "hardlink", link="t"),
            E("h2", "hardlink", link="t"),
            E("d", "dir"),
            E("d/t", data=b"content", mode=0o4755),
            E("keep", data=b"k"),
            E("keep-link", "hardlink", link="keep"),
            E("e", "dir"),
            E("e/h", "hardlink", link="d/t", mode=0o4755),
        ),
        layer(E("t", data=b"new")),
        layer(E(".wh.d")),
    ]
    s["08-path-spellings-and-duplicates"] = [
        layer(E("./a", "dir"), E("a/b", "dir"), E("/a/b/c", data=b"1"), E("f", data=b"first")),
        layer(E("a/", "dir", mode=0o701), E("./a/b/", "dir"), E("a//b/./c", data=b"2")),
    ]
    s["09-names-and-metadata"] = [
        layer(
            E("nodes", "dir"),
            E("nodes/null", "char", devmajor=1, devminor=3, mode=0o666),
            E("nodes/loop0", "block", devmajor=7, devminor=0, mode=0o660),
            E("fifo", "fifo", mode=0o600),
            E("L" * 120, "dir"),
            E("L" * 120 + "/" + "n" * 150, data=b"long"),
            E("L" * 120 + "/sym", "symlink", link="../" + "t" * 200),
            E("bits", "dir", mode=0o1777),
            E("bits/suid", data=b"s", mode=0o4755),
            E("bits/sgid", data=b"g", mode=0o2755),
            E("ids", data=b"i", uid=3_000_000, gid=4_000_000),
            E("cap", data=b"x", pax={"SCHILY.xattr.security.capability": CAP}),
        ),
        layer(
            E("g" * 150, data=b"gnu"),
            E(b"latin-\xe9t\xe9", data=b"bytes"),
            E("s", "symlink", link="x" * 300),
            fmt=tarfile.GNU_FORMAT,
        ),
    ]
    s["11-symlinks-never-followed"] = [
        layer(E("real", "dir"), E("real/f", data=b"f"), E("abs", "symlink", link="/real")),
        layer(E("up", "symlink", link="../../../outside"), E("abs", "dir"), E("abs/g")),
        layer(E("abs", "dir"), E("abs/.wh.g"), E("real", "dir"), E("real/h")),
    ]
    s["12-compressions-and-empty-layers"] = [
        layer(E("c", "dir"), E("c/gz", data=b"g" * 5000), compression="gzip"),
        layer(E("c", "dir"), E("c/zst", data=b"z" * 5000), compression="zstd"),
        layer(compression="gzip"),
        layer(E("c", "dir"), E("c/plain", data=b"p")),
    ]
    return s


def _umoci_only() -> dict[str, list[bytes]]:
    """Cases dockerd (overlay2) cannot load or applies differently from the OCI layer spec:
    it applies a layer's entries in tar order into an empty directory, so a whiteout after its
    own entry fails, a hardlink to a lower layer fails, duplicate paths are refused, and a
    directory re-created next to its own whiteout lets lower children show through."""
    s: dict[str, list[bytes]] = {}
    s["02-whiteout-after-own-entry"] = [
        layer(E("y", data=b"lower"), E("d", "dir"), E("d/in", data=b"lower")),
        layer(E("y", data=b"upper-y"), E(".wh.y"), E("d", "dir"), E("d/new"), E(".wh.d")),
    ]
    s["02-whiteout-and-recreated-directory"] = [
        layer(E("d", "dir"), E("d/in", data=b"lower")),
        layer(E(".wh.d"), E("d", "dir", mode=0o700), E("d/new")),
    ]
    s["07-hardlink-to-a-lower-layer"] = [
        layer(E("d", "dir"), E("d/t", data=b"content", mode=0o4755), E("e", "dir")),
        layer(E("e", "dir"), E("e/h", "hardlink", link="d/t", mode=0o4755)),
        layer(E(".wh.d")),
    ]
    s["08-duplicates-last-wins"] = [
        layer(E("f", data=b"first"), E("g", "dir"), E("g/x")),
        layer(E("f", data=b"second"), E("f", data=b"third"), E("g", "dir"), E("g", data=b"file")),
    ]
    s["09-sub-second-mtimes-and-xattrs"] = [
        layer(
            E("frac", data=b"f", pax={"mtime": "1700000000.123456789"}),
            E("x", data=b"x", pax={"SCHILY.xattr.user.k": "v", "SCHILY.xattr.trusted.t": "w"}),
            E(b"\xff\xfe-raw", data=b"raw bytes name"),
        ),
        layer(E("later", data=b"l")),
    ]
    return s


XATTR = {"SCHILY.xattr.user.qs": "lower"}


def _missing_parents() -> dict[str, list[bytes]]:
    """Issue 13 item 8: layers that leave parents out (umoci, Bazel's rules write
    ``var/local/sub/f`` alone). dockerd (overlay2) and podman (overlay) create each missing
    parent in that layer, 0755 root:root, hiding the lower directory's attributes, and put a
    directory over a lower symlink or file. umoci and podman's vfs driver apply into one tree
    and keep the lower attributes (vfs follows the symlink; a lower file fails its load): not
    oracles for these, see docs/engine.md."""
    s: dict[str, list[bytes]] = {}
    s["13a-parents-over-lower-directories"] = [
        layer(
            E("var", "dir", mode=0o700, uid=5, gid=6, pax=XATTR),
            E("var/local", "dir", mode=0o750, uid=7, gid=7),
            E("var/local/old", data=b"o"),
        ),
        layer(E("var/local/sub/f", data=b"f")),
    ]
    s["13b-parent-over-a-lower-symlink"] = [
        layer(
            E("tmp", "dir", mode=0o1777),
            E("tmp/keep", data=b"k"),
            E("evil", "symlink", link="/tmp"),
            E("rel", "symlink", link="tmp"),
        ),
        layer(E("evil/x", data=b"x"), E("rel/y", data=b"y")),
    ]
    s["13c-whiteout-without-its-parent"] = [
        layer(E("w", "dir", mode=0o700, uid=9, gid=9), E("w/a", data=b"a"), E("w/b", data=b"b")),
        layer(E("w/.wh.a")),
    ]
    s["13d-opaque-marker-without-its-directory"] = [
        layer(E("o", "dir", mode=0o700, uid=9, gid=9), E("o/a", data=b"a")),
        layer(E("o/.wh..wh..opq"), E("o/n", data=b"n")),
    ]
    s["13e-parent-over-a-lower-file"] = [
        layer(E("f", data=b"file")),
        layer(E("f/x", data=b"x")),
    ]
    s["13f-single-layer-without-parents"] = [layer(E("deep/er/file", data=b"d"))]
    s["13g-directory-entry-after-its-child"] = [
        layer(E("v", "dir", mode=0o700, uid=5, gid=5, pax=XATTR), E("v/old", data=b"o")),
        layer(E("v/n", data=b"n"), E("v", "dir", mode=0o711, uid=3, gid=3)),
    ]
    s["13h-union-without-an-upper-entry"] = [
        layer(E("d", "dir", mode=0o755, uid=1), E("d/a", data=b"a")),
        layer(E("d", "dir", mode=0o700, uid=2, mtime=1_600_000_000), E("d/b", data=b"b")),
        layer(E("d/c", data=b"c")),
    ]
    return s


STACKS = _stacks()
UMOCI_ONLY = _umoci_only()
MISSING_PARENTS = _missing_parents()

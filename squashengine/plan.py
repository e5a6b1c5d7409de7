"""Merge planning: from layer indexes alone, decide which entries survive, in which order they
are written and how many bytes the merged layer has.

Layers are applied bottom-up as a container engine does (OCI image-spec layer.md): whiteouts and
opaque markers of a layer act on the lower layers only; an entry replaces whatever was at its
path (a replaced directory loses its lower subtree) except that directory meets directory, which
merges and takes the upper attributes; hardlinks belong to the inode their target had in the
link's own layer. A parent directory a layer leaves out is created in that layer, as Docker's
overlay2 does: a new 0755 root:root directory that hides the lower one's attributes, or replaces
a lower non-directory (a symlink is never followed into); it is written with a synthesized
header (docs/engine.md). The output is in application order (lowest layer first), so each layer
is read once, sequentially; a directory is written at the earliest position any of its surviving
descendants needs it, with the header of its uppermost entry (kept in the index for this).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import tarformat as tf
from .errors import LayerCorruptError, UnsafePathError
from .index import LayerIndex

# Layer operations: what the streamer does, in order.
OP_BYTES = 0  # (OP_BYTES, data)
OP_COPY = 1  # (OP_COPY, layer, offset, length): bytes of the uncompressed layer stream
OP_SPARSE = 2  # (OP_SPARSE, layer, data_offset, map_len, segments, real_size, stored_padded_len)

END_OF_ARCHIVE = bytes(1024)

_TYPEFLAG = {
    tf.REG: b"0",
    tf.SYM: b"2",
    tf.CHR: b"3",
    tf.BLK: b"4",
    tf.FIFO: b"6",
}


# ``_Node.entry`` of a directory that its layer implies but does not hold: written with the
# attributes Docker gives it (0755 root:root), mtime 0 (Docker's is the time of the load).
IMPLIED = -1


def implied_dir_header(path: bytes) -> bytes:
    return tf.encode_header(tf.TarMeta(name=path + b"/", typeflag=b"5", mode=0o755))


class _Node:
    __slots__ = ("kind", "layer", "entry", "first", "pos", "src")

    def __init__(self, kind: int, layer: int, entry: int) -> None:
        self.kind = kind
        self.layer = layer  # the entry that defines it (for a directory: its uppermost entry)
        self.entry = entry  # IMPLIED for a directory the layer only implies
        self.first = (layer, entry)  # its own earliest entry (directories keep the lowest one)
        self.pos = self.first  # where it is written
        self.src = self.first  # the inode: for hardlinks, the entry holding the content


def _parent(path: bytes) -> bytes:
    cut = path.rfind(b"/")
    return path[:cut] if cut > 0 else b""


def merge(indexes: Sequence[LayerIndex]) -> dict[bytes, _Node]:
    """Apply the layers; returns the surviving path -> node map."""
    nodes: dict[bytes, _Node] = {}
    children: dict[bytes, set[bytes]] = {}

    def remove(path: bytes, record: dict[bytes, _Node] | None = None) -> None:
        stack = [path]
        while stack:
            q = stack.pop()
            gone = nodes.pop(q, None)
            if record is not None and gone is not None:
                record[q] = gone
            kids = children.pop(q, None)
            if kids:
                stack.extend(kids)
        if path:
            siblings = children.get(_parent(path))
            if siblings is not None:
                siblings.discard(path)

    def add(path: bytes, node: _Node) -> None:
        nodes[path] = node
        if path:
            parent = _parent(path)
            kids = children.get(parent)
            if kids is None:
                children[parent] = {path}
            else:
                kids.add(path)

    def imply_parents(layer: int, i: int, path: bytes, digest: str) -> None:
        """Every ancestor of ``path`` is a directory of this layer: its own entry, or one the
        layer implies (Docker creates it 0755 root:root in the layer, hiding the lower one's
        attributes; a lower non-directory there is replaced, never followed)."""
        missing = []
        parent = _parent(path) if path else b""
        while parent:
            node = nodes.get(parent)
            if node is not None and node.layer == layer:
                if node.kind != tf.DIR:
                    raise UnsafePathError(
                        digest, path, "lies under a non-directory entry of the same layer"
                    )
                break  # its own ancestors were settled when it was
            missing.append((parent, node))
            parent = _parent(parent)
        for anc, node in reversed(missing):
            if node is not None and node.kind == tf.DIR:
                node.layer, node.entry = layer, IMPLIED  # children stay, attributes go
                continue
            if node is not None or anc in children:
                remove(anc)
            implied = _Node(tf.DIR, layer, i)
            implied.entry = IMPLIED
            add(anc, implied)

    for layer, idx in enumerate(indexes):
        kinds = idx.kinds
        paths = idx.paths
        # Whiteouts and opaque markers hide lower entries only, wherever they stand in the tar.
        # What they hide stays known for this layer: its hardlinks may still name it.
        hidden: dict[bytes, _Node] = {}
        for i, kind in enumerate(kinds):
            if kind == tf.WHITEOUT:
                remove(paths[i], hidden)
            elif kind == tf.OPAQUE:
                kids = children.get(paths[i])
                if kids:
                    for child in list(kids):
                        remove(child, hidden)
        for i, kind in enumerate(kinds):
            path = paths[i]
            if kind == tf.OPAQUE:
                # The marker lies inside the directory it makes opaque.
                imply_parents(layer, i, path + b"/", idx.digest)
                continue
            imply_parents(layer, i, path, idx.digest)
            if kind == tf.WHITEOUT:
                continue
            old = nodes.get(path)
            if kind == tf.DIR:
                if old is not None and old.kind == tf.DIR:
                    old.layer, old.entry = layer, i
                    continue
                if old is not None or path in children:
                    remove(path)
                add(path, _Node(kind, layer, i))
                continue
            node = _Node(kind, layer, i)
            if kind == tf.LNK:
                target = nodes.get(idx.links[i]) or hidden.get(idx.links[i])
                if target is None or target.kind == tf.DIR:
                    raise LayerCorruptError(
                        idx.digest,
                        f"hardlink {path.decode(errors='backslashreplace')!r} points to "
                        f"{idx.links[i].decode(errors='backslashreplace')!r}, "
                        "which is not a file at that point",
                    )
                node.src = target.src
            if old is not None or path in children:
                remove(path)
            add(path, node)
    return nodes


class LayerPlan:
    """The merged layer as a list of operations, and its exact size."""

    def __init__(self, ops: list[tuple], size: int, entries: int) -> None:
        self.ops = ops
        self.size = size
        self.entries = entries


def plan_layer(indexes: Sequence[LayerIndex]) -> LayerPlan:
    nodes = merge(indexes)

    # Hardlink groups: who holds the content, who links to whom.
    groups: dict[tuple[int, int], list[tuple[tuple[int, int], bytes]]] = {}
    for path, node in nodes.items():
        if node.kind == tf.LNK:
            groups.setdefault(node.src, []).append((node.first, path))

    # A group whose holder is gone: its first surviving name becomes the file, written where the
    # content is (the src entry); the other links are pointed at that name.
    promoted: set[bytes] = set()
    link_target: dict[bytes, bytes] = {}
    for src, links in groups.items():
        links.sort()
        src_idx = indexes[src[0]]
        holder_path = src_idx.paths[src[1]]
        holder = nodes.get(holder_path)
        if holder is not None and holder.kind != tf.LNK and holder.src == src:
            file_path = holder_path
        else:
            file_path = links[0][1]
            promoted.add(file_path)
            nodes[file_path].pos = src
            links = links[1:]
        for _, path in links:
            link_target[path] = file_path

    # Directories go where their first surviving descendant needs them.
    for path, node in nodes.items():
        pos = node.pos
        parent = path
        while parent:
            parent = _parent(parent)
            pn = nodes.get(parent)
            if pn is None or pn.kind != tf.DIR:
                continue
            if pn.pos <= pos:
                break
            pn.pos = pos

    # Application order; at one position, ancestors (pulled there) before the entry itself.
    items = sorted(
        (node.pos, path.count(b"/") + 1 if path else 0, path) for path, node in nodes.items()
    )

    ops: list[tuple] = []
    size = 0

    def copy(layer: int, offset: int, length: int) -> None:
        nonlocal size
        size += length
        if ops:
            last = ops[-1]
            if last[0] == OP_COPY and last[1] == layer and last[2] + last[3] == offset:
                ops[-1] = (OP_COPY, layer, last[2], last[3] + length)
                return
        ops.append((OP_COPY, layer, offset, length))

    def emit(data: bytes) -> None:
        nonlocal size
        size += len(data)
        ops.append((OP_BYTES, data))

    def data_of(layer: int, entry: int, meta: tf.TarMeta | None) -> None:
        """Header (when ``meta`` is given) and data of an entry; sparse files are expanded."""
        nonlocal size
        idx = indexes[layer]
        data_off = idx.header_offsets[entry] + idx.header_lengths[entry]
        stored = tf.padded(idx.data_lengths[entry])
        sparse = idx.sparse.get(entry)
        if sparse is not None:
            real, map_len, segments = sparse
            if meta is None:
                meta = tf.parse_header_chain(idx.headers[entry])
            meta.typeflag = b"0"
            meta.size = real
            if b"GNU.sparse.name" in dict(meta.pax):
                meta.name = dict(meta.pax)[b"GNU.sparse.name"]
            emit(tf.encode_header(meta))
            ops.append((OP_SPARSE, layer, data_off, map_len, segments, real, stored))
            size += tf.padded(real)
            return
        if meta is not None:
            emit(tf.encode_header(meta))
            copy(layer, data_off, stored)
        else:
            copy(layer, idx.header_offsets[entry], idx.header_lengths[entry] + stored)

    for _pos, _depth, path in items:
        node = nodes[path]
        if node.entry == IMPLIED:
            emit(implied_dir_header(path))
            continue
        layer, entry = node.first
        idx = indexes[layer]
        if node.kind == tf.DIR:
            if node.pos == node.first and (node.layer, node.entry) == node.first:
                length = idx.header_lengths[entry] + tf.padded(idx.data_lengths[entry])
                copy(layer, idx.header_offsets[entry], length)
            else:
                emit(indexes[node.layer].headers[node.entry])
        elif path in promoted:
            src_layer, src_entry = node.src
            src_idx = indexes[src_layer]
            src_header = src_idx.headers.get(src_entry)
            if src_header is not None:
                # The inode's own metadata, under the surviving name.
                meta = tf.parse_header_chain(src_header)
                meta.name = tf.parse_header_chain(idx.headers[entry]).name
                meta.pax = [(k, v) for k, v in meta.pax if k != b"path"]
            else:
                # Target in a lower layer: the link's header carries the same inode metadata.
                meta = tf.parse_header_chain(idx.headers[entry])
                meta.pax = [(k, v) for k, v in meta.pax if k != b"linkpath"]
                src_kind = src_idx.kinds[src_entry]
                meta.typeflag = _TYPEFLAG.get(src_kind, b"0")
                meta.linkname = src_idx.links[src_entry] if src_kind == tf.SYM else b""
                meta.size = src_idx.data_lengths[src_entry]
            data_of(src_layer, src_entry, meta)
        elif path in link_target and idx.links[entry] != link_target[path]:
            meta = tf.parse_header_chain(idx.headers[entry])
            meta.linkname = link_target[path]
            meta.size = 0
            emit(tf.encode_header(meta))
        else:
            data_of(layer, entry, None)
    emit(END_OF_ARCHIVE)
    return LayerPlan(ops, size, len(items))

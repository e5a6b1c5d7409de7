"""What squashing an image saves, from the engine's layer indexes alone (no decompression).

For every layer: how many of its files, and how many bytes of file content, upper layers delete
(a whiteout, an opaque directory, a replaced directory) or overwrite (an entry at the same path),
so that they never reach the squashed image; and the image's layered size against its squashed
size. The overlay rules are the engine's own (``squashengine.plan.merge``), so these numbers
describe exactly what the squash writes; the squashed size is ``plan_squash``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from squashengine import LayerIndex, LayerInput, plan_squash
from squashengine import tarformat as tf
from squashengine.plan import merge

_MARKERS = (tf.WHITEOUT, tf.OPAQUE)


@dataclass
class LayerSavings:
    digest: str
    position: int
    compressed_size: int  # the blob, as pulled
    tar_size: int  # uncompressed
    files: int  # entries other than directories and whiteouts
    file_bytes: int  # their content
    deleted_files: int = 0
    deleted_bytes: int = 0
    overwritten_files: int = 0
    overwritten_bytes: int = 0
    whiteouts: int = 0  # deletion markers this layer carries (they act on lower layers)

    @property
    def lost_bytes(self) -> int:
        return self.deleted_bytes + self.overwritten_bytes

    @property
    def kept_bytes(self) -> int:
        return self.file_bytes - self.lost_bytes

    def as_dict(self) -> dict:
        return asdict(self) | {"lost_bytes": self.lost_bytes, "kept_bytes": self.kept_bytes}


@dataclass
class Savings:
    layers: list[LayerSavings] = field(default_factory=list)
    layered_compressed: int = 0  # what a registry pull downloads
    layered_tar: int = 0  # all layers uncompressed
    squashed_tar: int = 0  # the single merged layer
    squashed_archive: int | None = None  # the whole uncompressed docker archive
    squashed_entries: int = 0

    @property
    def saved_bytes(self) -> int:
        return self.layered_tar - self.squashed_tar

    @property
    def deleted_bytes(self) -> int:
        return sum(layer.deleted_bytes for layer in self.layers)

    @property
    def overwritten_bytes(self) -> int:
        return sum(layer.overwritten_bytes for layer in self.layers)

    @property
    def lost_files(self) -> int:
        return sum(layer.deleted_files + layer.overwritten_files for layer in self.layers)

    def as_dict(self) -> dict:
        return {
            "layers": [layer.as_dict() for layer in self.layers],
            "layered_compressed": self.layered_compressed,
            "layered_tar": self.layered_tar,
            "squashed_tar": self.squashed_tar,
            "squashed_archive": self.squashed_archive,
            "squashed_entries": self.squashed_entries,
            "saved_bytes": self.saved_bytes,
            "deleted_bytes": self.deleted_bytes,
            "overwritten_bytes": self.overwritten_bytes,
            "lost_files": self.lost_files,
        }


def layer_savings(
    indexes: Sequence[LayerIndex], compressed_sizes: Sequence[int] | None = None
) -> list[LayerSavings]:
    """Per layer, what the upper layers take away (see the module docstring)."""
    nodes = merge(indexes)
    # Entries whose bytes reach the output: the surviving entry at each path, and for hardlinks
    # the entry that holds the content (it survives through the link even if its name is gone).
    surviving = {(n.layer, n.entry) for n in nodes.values()} | {n.src for n in nodes.values()}
    out = []
    for layer, idx in enumerate(indexes):
        size = compressed_sizes[layer] if compressed_sizes else idx.blob_size
        row = LayerSavings(idx.digest, layer, size, idx.tar_size, 0, 0)
        for i, kind in enumerate(idx.kinds):
            if kind in _MARKERS:
                row.whiteouts += 1
                continue
            if kind == tf.DIR:
                continue
            data = idx.data_lengths[i]
            row.files += 1
            row.file_bytes += data
            if (layer, i) in surviving:
                continue
            if idx.paths[i] in nodes:  # something else stands at that path now
                row.overwritten_files += 1
                row.overwritten_bytes += data
            else:
                row.deleted_files += 1
                row.deleted_bytes += data
        out.append(row)
    return out


def _no_blob():
    raise RuntimeError("planning reads indexes only")


def savings_of(
    indexes: Sequence[LayerIndex], config: bytes, compressed_sizes: Sequence[int] | None = None
) -> Savings:
    layers = layer_savings(indexes, compressed_sizes)
    plan = plan_squash(
        [LayerInput(idx.digest, _no_blob, idx) for idx in indexes], config, format="docker"
    )
    return Savings(
        layers=layers,
        layered_compressed=sum(layer.compressed_size for layer in layers),
        layered_tar=sum(idx.tar_size for idx in indexes),
        squashed_tar=plan.layer_size,
        squashed_archive=plan.size,
        squashed_entries=plan.entries,
    )


def manifest_savings(manifest) -> Savings:
    """The savings of one image manifest (a ``registry.models.Manifest``), from the layer
    indexes the squash builds use (``build.load_or_index``: computed once per layer)."""
    from quaysquash.registry.storage import get_storage

    from .build import load_or_index

    layers = list(manifest.layers.select_related("blob").order_by("position"))
    indexes = [load_or_index(layer.blob.digest) for layer in layers]
    with get_storage().open(manifest.config_blob.digest) as fh:
        config = fh.read()
    return savings_of(indexes, config, [layer.size for layer in layers])


class SavingsUnavailable(Exception):
    """The savings cannot be computed (a layer blob is missing or unreadable); the message is
    meant for the user."""


def savings_or_reason(manifest) -> Savings:
    """:func:`manifest_savings`, with missing or broken layers turned into one clear error."""
    import logging

    from squashengine import SquashError

    try:
        return manifest_savings(manifest)
    except (SquashError, OSError, ValueError) as exc:
        # The details name storage paths: they go to the log, not to the page.
        logging.getLogger(__name__).warning("savings of %s: %s", manifest.digest, exc)
        raise SavingsUnavailable(
            "a layer or the config of this image could not be read from storage or indexed"
        ) from exc

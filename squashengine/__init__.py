"""The squash engine: flatten an image's layers into one exact, streamable tarball.

Pure library (no Django): index layers once, plan from the indexes, stream the output.
See docs/engine.md.
"""

from .archive import COMPRESSIONS, FORMATS, LayerInput, SquashPlan, SquashResult, plan_squash
from .errors import (
    BlobUnavailableError,
    ContentError,
    DiffIdMismatchError,
    DigestMismatchError,
    LayerCorruptError,
    LayerError,
    LayerMissingError,
    LimitExceededError,
    NotAnImageError,
    PlatformNotFoundError,
    SourceError,
    SquashError,
    UnsafePathError,
)
from .index import LayerIndex, index_layer
from .limits import DEFAULT_LIMITS, Limits
from .sources import ImageSource, ImageTree, TreeBlob, TreeManifest, open_image_tree, open_source
from .stream import write_squash

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_LIMITS",
    "FORMATS",
    "BlobUnavailableError",
    "ContentError",
    "DiffIdMismatchError",
    "DigestMismatchError",
    "LimitExceededError",
    "Limits",
    "NotAnImageError",
    "ImageSource",
    "ImageTree",
    "LayerCorruptError",
    "LayerError",
    "LayerMissingError",
    "LayerIndex",
    "LayerInput",
    "PlatformNotFoundError",
    "SourceError",
    "SquashError",
    "SquashPlan",
    "SquashResult",
    "TreeBlob",
    "TreeManifest",
    "UnsafePathError",
    "index_layer",
    "open_image_tree",
    "open_source",
    "plan_squash",
    "write_squash",
]

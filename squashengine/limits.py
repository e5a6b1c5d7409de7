"""Bounds on what one squash may cost, so a small hostile upload cannot take a worker's memory,
time or disk. Every bound is checked before the work it protects: header sizes before the header
is read, the inflation ratio while a layer decompresses, the output size from the plan before the
first byte is written."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LimitExceededError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """The engine's bounds; the defaults are safe for a registry serving arbitrary uploads."""

    # One entry's extension headers together (PAX records, GNU long name/link, the sparse map):
    # read only after their declared size passed this check. Go's archive/tar caps them at 1 MiB.
    max_header_bytes: int = 1 * MiB
    # Entries in one layer (memory of the index and the merge grows with it).
    max_entries: int = 500_000
    # An entry's cleaned path, and a link's target (Linux PATH_MAX).
    max_path_bytes: int = 4096
    # The planned size of the squash, uncompressed (archive framing included). Also caps any one
    # entry's declared size, so a sparse or truncated 1 TiB file is refused while indexing.
    max_output_bytes: int = 64 * GiB
    # Uncompressed / compressed bytes of a layer, checked while it decompresses...
    max_inflation_ratio: int = 100
    # ...once more than this has come out of it (small layers of zeros are harmless).
    inflation_grace_bytes: int = 1 * GiB

    def check_entries(self, digest: str, count: int) -> None:
        if count > self.max_entries:
            raise LimitExceededError(
                f"layer {digest}",
                f"max_entries={self.max_entries}",
                f"more than {self.max_entries} entries",
            )

    def check_output(self, what: str, size: int) -> None:
        if size > self.max_output_bytes:
            raise LimitExceededError(
                what,
                f"max_output_bytes={self.max_output_bytes}",
                f"{size} bytes would be written",
            )


DEFAULT_LIMITS = Limits()

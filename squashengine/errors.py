"""Errors raised by the squash engine. Messages are user-facing and name the layer at fault."""

from __future__ import annotations


class SquashError(Exception):
    """Base class: the squash cannot be built. ``str(err)`` is safe to show to a user."""


class LayerCorruptError(SquashError):
    """A layer blob is not a valid (compressed) tar: corrupt, truncated or malformed."""

    def __init__(self, digest: str, detail: str) -> None:
        super().__init__(f"layer {digest} is corrupt: {detail}")
        self.digest = digest
        self.detail = detail


class LayerMissingError(SquashError):
    """A layer blob cannot be found where the caller's ``open_blob`` looks for it. The message
    names the digest only: where the blob was looked for (a server path, a bucket key) is the
    operator's business and stays in the exception's ``__cause__``, for the logs."""

    def __init__(self, digest: str) -> None:
        super().__init__(f"layer {digest} is missing from storage")
        self.digest = digest


class UnsafePathError(SquashError):
    """An entry name escapes the root, or a whiteout names something it must not."""

    def __init__(self, digest: str, name: bytes, detail: str = "escapes the root") -> None:
        shown = name.decode("utf-8", "backslashreplace")
        super().__init__(f"layer {digest}: unsafe entry {shown!r}: {detail}")
        self.digest = digest
        self.name = name


class DigestMismatchError(SquashError):
    """A blob's sha256 differs from the digest it was referenced by."""

    def __init__(self, digest: str, actual: str) -> None:
        super().__init__(f"layer {digest}: digest mismatch, content hashes to {actual}")
        self.digest = digest
        self.actual = actual


class PlatformNotFoundError(SquashError):
    """The requested platform is not in the image index; ``available`` lists what is."""

    def __init__(self, wanted: str | None, available: list[str]) -> None:
        listed = ", ".join(available) or "none"
        what = f"platform {wanted!r} not found" if wanted else "image index needs a platform"
        super().__init__(f"{what}; available: {listed}")
        self.wanted = wanted
        self.available = available


class SourceError(SquashError):
    """A local image source (OCI layout, docker save tar) cannot be read."""

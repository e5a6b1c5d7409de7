"""Errors raised by the squash engine. Messages are user-facing and name the layer at fault.

Two families, because a caller must know whether trying again can help:

- ``ContentError``: the image itself cannot be squashed (a corrupt or hostile layer, a limit
  exceeded, digests that do not match, not an image). Permanent for that manifest: building it
  again gives the same answer, so callers remember it instead of rebuilding.
- every other ``SquashError`` (and any other exception): the attempt failed for a reason outside
  the image (a blob that could not be read, a bad argument); a later attempt may succeed.
"""

from __future__ import annotations


class SquashError(Exception):
    """Base class: the squash cannot be built. ``str(err)`` is safe to show to a user."""


class ContentError(SquashError):
    """The image's content makes the squash impossible; the same manifest always fails so."""


class LayerError(SquashError):
    """An error about one layer, named by ``digest`` (of either family: the concrete classes
    also derive from ContentError, or not)."""

    def __init__(self, digest: str, message: str) -> None:
        super().__init__(message)
        self.digest = digest


class LayerCorruptError(ContentError, LayerError):
    """A layer blob is not a valid (compressed) tar: corrupt, truncated or malformed."""

    def __init__(self, digest: str, detail: str) -> None:
        super().__init__(digest, f"layer {digest} is corrupt: {detail}")
        self.detail = detail


class UnsafePathError(ContentError, LayerError):
    """An entry name escapes the root, or a whiteout names something it must not."""

    def __init__(self, digest: str, name: bytes, detail: str = "escapes the root") -> None:
        shown = name.decode("utf-8", "backslashreplace")
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(digest, f"layer {digest}: unsafe entry {shown!r}: {detail}")
        self.name = name


class DigestMismatchError(ContentError, LayerError):
    """A blob's sha256 differs from the digest it was referenced by."""

    def __init__(self, digest: str, actual: str) -> None:
        super().__init__(digest, f"layer {digest}: digest mismatch, content hashes to {actual}")
        self.actual = actual


class DiffIdMismatchError(ContentError):
    """The layers' uncompressed digests differ from the config's ``rootfs.diff_ids`` (value or
    count): ``docker pull`` refuses such an image, so it is not squashed into one that loads."""


class LimitExceededError(ContentError):
    """The image exceeds a configured bound (``Limits``): ``limit`` names which one."""

    def __init__(self, where: str, limit: str, detail: str) -> None:
        super().__init__(f"{where}: {detail} (limit {limit})")
        self.limit = limit


class NotAnImageError(ContentError):
    """The manifest is not a container image (a Helm chart, an ORAS artifact...)."""


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


class BlobUnavailableError(LayerError):
    """A layer blob could not be opened or read (storage error): not the image's fault."""

    def __init__(self, digest: str, detail: str) -> None:
        super().__init__(digest, f"layer {digest} could not be read: {detail}")


class LayerMissingError(BlobUnavailableError):
    """A layer blob cannot be found where the caller's ``open_blob`` looks for it. The message
    names the digest only: where the blob was looked for (a server path, a bucket key) is the
    operator's business and stays in the exception's ``__cause__``, for the logs. Transient:
    the blob may be restored, or the storage was briefly unreachable."""

    def __init__(self, digest: str) -> None:
        LayerError.__init__(self, digest, f"layer {digest} is missing from storage")
        self.detail = "missing from storage"

"""Registry errors of pull-through: what a client sees when the upstream lets us down."""

from __future__ import annotations

from quaysquash.registry import errors

from . import upstream


class UpstreamFailed(errors.RegistryError):
    """The upstream could not supply the image (unreachable, refused us, sent bad or too large
    content) and nothing usable is cached: ``502`` with the reason in the message."""

    code, status, message = "UNKNOWN", 502, "upstream registry failed"


class PushRefused(errors.Denied):
    message = "proxy organization: pushes are refused"


def from_upstream(exc: upstream.UpstreamError, reference: str = "") -> errors.RegistryError:
    """The client-facing error for an upstream failure (a 404 upstream is a 404 here)."""
    if isinstance(exc, upstream.UpstreamNotFound):
        return errors.ManifestUnknown(f"not found upstream: {exc}", detail={"reference": reference})
    return UpstreamFailed(f"upstream registry failed: {exc}", detail={"reason": type(exc).__name__})

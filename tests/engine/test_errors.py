"""The error classes (squashengine.errors): content errors, the image's fault, are told apart from
storage ones, which a retry may cure."""

from __future__ import annotations

import gzip
import io

import pytest

from squashengine import (
    BlobUnavailableError,
    ContentError,
    DiffIdMismatchError,
    DigestMismatchError,
    LayerCorruptError,
    LimitExceededError,
    SquashError,
    UnsafePathError,
    index_layer,
)

from .layerkit import E, digest_of, layer


def test_it_tells_content_errors_from_storage_errors():
    for cls in (
        LayerCorruptError,
        UnsafePathError,
        DigestMismatchError,
        DiffIdMismatchError,
        LimitExceededError,
    ):
        assert issubclass(cls, ContentError)
    assert not issubclass(BlobUnavailableError, ContentError)
    assert issubclass(BlobUnavailableError, SquashError)

    blob = gzip.compress(layer(E("f", data=b"x" * 100_000)))

    class Failing(io.BytesIO):
        def read(self, n: int = -1) -> bytes:
            if self.tell() > 100:
                raise ConnectionResetError("bucket went away")
            return super().read(min(n, 50) if n and n > 0 else 50)

    with pytest.raises(BlobUnavailableError, match="bucket went away"):
        index_layer(lambda: Failing(blob), digest_of(blob))

    def missing():
        raise FileNotFoundError("no such blob")

    with pytest.raises(BlobUnavailableError):
        index_layer(missing, digest_of(blob))

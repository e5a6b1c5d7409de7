"""A layer blob that cannot be opened: the error names the digest, never where it was sought."""

from __future__ import annotations

import errno

import pytest

import squashengine as engine
from squashengine.decompress import LayerStream

DIGEST = "sha256:" + "ab" * 32
WHERE = "/srv/registry/secret-storage/blobs/sha256/ab/abab"


def missing():
    raise FileNotFoundError(errno.ENOENT, "No such file or directory", WHERE)


def unreadable():
    raise PermissionError(errno.EACCES, "Permission denied", WHERE)


def test_it_reports_a_missing_blob_by_digest_only() -> None:
    with pytest.raises(engine.LayerMissingError) as caught:
        LayerStream(missing, DIGEST)
    assert str(caught.value) == f"layer {DIGEST} is missing from storage"
    assert isinstance(caught.value, engine.SquashError)
    # The operator's details stay on the cause, for the logs.
    assert WHERE in str(caught.value.__cause__)


def test_it_reports_an_unreadable_blob_without_its_path() -> None:
    # A storage error, not corruption: a later attempt may read it.
    with pytest.raises(engine.BlobUnavailableError) as caught:
        LayerStream(unreadable, DIGEST)
    assert DIGEST in str(caught.value) and "Permission denied" in str(caught.value)
    assert WHERE not in str(caught.value)


def test_it_reports_a_missing_blob_when_indexing() -> None:
    with pytest.raises(engine.LayerMissingError):
        engine.index_layer(missing, DIGEST)

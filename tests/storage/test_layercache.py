"""The workers' per-host layer read cache (quaysquash.storage.layercache)."""

from __future__ import annotations

import hashlib
import os

from quaysquash.storage import blob_key, layercache


def put_blob(storage, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    storage.write(blob_key(digest), [data], digest)
    return digest


def test_it_fills_the_cache_on_a_full_read_and_serves_later_reads_from_disk(
    s3_storage, settings, s3_endpoint
):
    data = os.urandom(3 * 1024 * 1024)
    digest = put_blob(s3_storage, data)
    with layercache.open_layer(digest) as fh:
        assert fh.read(10) == data[:10]
        fh.seek(0)  # the engine rewinds after sniffing the compression
        assert fh.read() == data
    assert layercache.cached_path(digest).read_bytes() == data
    # The bucket copy is gone: a second build still reads the layer, from this host's disk.
    s3_endpoint.client().delete_object(Bucket=settings.QS_S3_BUCKET, Key="pre/" + blob_key(digest))
    with layercache.open_layer(digest) as fh:
        assert fh.read() == data


def test_it_completes_the_copy_of_a_reader_that_stops_just_short(s3_storage):
    data = os.urandom(100_000)
    digest = put_blob(s3_storage, data)
    with layercache.open_layer(digest) as fh:
        fh.read(99_000)  # a tar reader stops before the blob's padding
    assert layercache.cached_path(digest).read_bytes() == data


def test_it_never_caches_bytes_that_do_not_match_the_digest(s3_storage):
    data = b"the real layer"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    s3_storage.write(blob_key(digest), [b"tampered in the bucket"])
    with layercache.open_layer(digest) as fh:
        fh.read()
    assert not layercache.cached_path(digest).exists()


def test_it_evicts_least_recently_used_layers_beyond_its_budget(s3_storage, settings):
    settings.QS_LAYER_CACHE_MAX_BYTES = 250_000
    digests = [put_blob(s3_storage, os.urandom(100_000)) for _ in range(3)]
    for digest in digests[:2]:
        with layercache.open_layer(digest) as fh:
            fh.read()
    os.utime(layercache.cached_path(digests[0]), (1, 1))  # the least recently used
    with layercache.open_layer(digests[1]) as fh:  # a hit renews its place
        fh.read()
    with layercache.open_layer(digests[2]) as fh:
        fh.read()
    assert not layercache.cached_path(digests[0]).exists()
    assert layercache.cached_path(digests[1]).exists()
    assert layercache.cached_path(digests[2]).exists()


def test_it_reads_local_driver_blobs_in_place(local_storage):
    digest = put_blob(local_storage, b"local layer")
    with layercache.open_layer(digest) as fh:
        assert fh.read() == b"local layer"
    assert not layercache.cached_path(digest).exists()  # already on this host's disk

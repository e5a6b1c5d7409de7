"""Both storage drivers behind one fixture: every contract test runs on each of them, the S3
one over real HTTP against two S3 servers: moto's (tests/support/s3_server.py), which the rest
of the suite uses, and Ceph's radosgw (tests/support/ceph_rgw.py), which checks signatures
and part sizes as AWS does."""

from __future__ import annotations

import pytest

from quaysquash.storage import get_storage


@pytest.fixture
def local_storage(settings, tmp_path):
    settings.QS_STORAGE_BACKEND = "local"
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    return get_storage()


def _s3_storage(settings, tmp_path, server):
    bucket = server.create_bucket()
    server.configure(settings, bucket, "pre/")
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    return get_storage()


@pytest.fixture(params=["s3_server", "radosgw"])
def s3_endpoint(request):
    """The S3 server under test: moto's, then radosgw."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def s3_storage(settings, tmp_path, s3_endpoint):
    return _s3_storage(settings, tmp_path, s3_endpoint)


@pytest.fixture(params=["local", "s3_server", "radosgw"])
def storage(request, settings, tmp_path):
    if request.param == "local":
        return request.getfixturevalue("local_storage")
    return _s3_storage(settings, tmp_path, request.getfixturevalue(request.param))

"""Both storage drivers behind one fixture: every contract test runs on each of them, the S3
one against moto's S3 server over real HTTP (tests/support/s3_server.py)."""

from __future__ import annotations

import pytest

from quaysquash.storage import get_storage


@pytest.fixture
def local_storage(settings, tmp_path):
    settings.QS_STORAGE_BACKEND = "local"
    settings.QS_STORAGE_ROOT = tmp_path / "storage"
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    return get_storage()


@pytest.fixture
def s3_storage(settings, tmp_path, s3_server):
    bucket = s3_server.create_bucket()
    s3_server.configure(settings, bucket, "pre/")
    settings.QS_SCRATCH_DIR = tmp_path / "scratch"
    return get_storage()


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue(f"{request.param}_storage")

"""Fixtures for real external components shared by all test packages."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import Dockerd


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """A private Docker engine for the whole test session."""
    # Short path: the unix socket path must stay under 108 bytes.
    engine = Dockerd(Path(tempfile.mkdtemp(prefix="qsdk-", dir="/tmp")))
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()

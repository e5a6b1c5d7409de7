"""A stack of each module's own for the tests that take its processes apart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, acme_stack
from tests.support.tools import require_debian_app


@pytest.fixture(scope="module")
def throttled_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """acme/web:v1 is debian-app; builds run at 20 MB/s (about 11 s for it), so that a test
    can act, or watch bytes arrive, in the middle of a build."""
    throttle = {"QS_SQUASH_BUILD_MAX_BYTES_PER_SECOND": str(20 * 1024 * 1024)}
    prefix = f"qs-{request.module.__name__.rsplit('.', 1)[-1]}-"
    with acme_stack(prefix, extra_env=throttle) as running:
        running.import_image(f"{require_debian_app()}:latest", "acme/web:v1")
        yield running

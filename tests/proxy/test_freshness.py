"""Tags stay fresh and the cache outlives the upstream: a moved tag is noticed after
``QS_PROXY_STALENESS_SECONDS``, a stopped upstream still leaves every cached image pullable."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.ocilayout import multi_platform_layout
from tests.support.reference_registry import ReferenceRegistry
from tests.support.waiting import wait_for

from .conftest import STALENESS_SECONDS, reference_registry


@pytest.fixture
def own_upstream() -> Iterator[ReferenceRegistry]:
    """An empty upstream of this test alone: the test moves its tag, then stops it."""
    with reference_registry("qsproxy-own-") as registry:
        yield registry


def push_index(site, upstream, layout: Path, tag: str) -> bytes:
    raw = multi_platform_layout(layout, payload=secrets.token_bytes(32 * 1024))
    site.skopeo(
        "copy", "--all", "--dest-tls-verify=false",
        f"oci:{layout}:latest", f"docker://{upstream.host}/library/moving:{tag}",
    )  # fmt: skip
    return raw


def digest(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_it_follows_a_moved_tag_and_serves_the_cache_when_the_upstream_is_gone(
    proxy_site, own_upstream, tmp_path
):
    org = f"fresh{secrets.token_hex(2)}"
    proxy_site.create_proxy_org(org, own_upstream.url)
    robot, token = proxy_site.robot_of(org)
    creds = ["--creds", f"{robot}:{token}", "--tls-verify=false"]
    ref = f"docker://{proxy_site.host}/{org}/library/moving:v1"

    def pulled() -> str:
        return digest(proxy_site.skopeo("inspect", "--raw", *creds, ref).encode())

    first = push_index(proxy_site, own_upstream, tmp_path / "a", "v1")
    # The second image's blobs go up first, so moving the tag below is one quick manifest PUT
    # well inside the staleness time, even on a loaded machine.
    second = push_index(proxy_site, own_upstream, tmp_path / "b", "next")
    assert pulled() == digest(first)
    proxy_site.skopeo(
        "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
        f"docker://{own_upstream.host}/library/moving:next",
        f"docker://{own_upstream.host}/library/moving:v1",
    )  # fmt: skip
    # Within the staleness time the cached tag is served without asking the upstream.
    assert pulled() == digest(first)
    time.sleep(STALENESS_SECONDS + 0.5)
    assert pulled() == digest(second)
    wait_for(lambda: proxy_site.cached_complete(f"{org}/library/moving"), timeout=60)

    own_upstream.stop()
    time.sleep(STALENESS_SECONDS + 0.5)
    # The upstream is down: the stale tag is served from the cache, whole images included.
    assert pulled() == digest(second)
    out = tmp_path / "out"
    proxy_site.skopeo(
        "copy", "--all", "--src-tls-verify=false", "--src-creds", f"{robot}:{token}",
        ref, f"oci:{out}:v1",
    )  # fmt: skip
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest(second)
    # Pulls by digest never need the upstream once cached, the old image included.
    by_digest = f"docker://{proxy_site.host}/{org}/library/moving@{digest(first)}"
    raw = proxy_site.skopeo("inspect", "--raw", *creds, by_digest)
    assert digest(raw.encode()) == digest(first)
    # The freshness time is the last successful check, for "cached N minutes ago".
    checked = proxy_site.query(
        "from django.utils import timezone\n"
        "from quaysquash.accounts.models import Repository\n"
        "from quaysquash.proxy.pullthrough import freshness\n"
        f"repo = Repository.objects.get(namespace__name={org!r}, name='library/moving')\n"
        "print((timezone.now() - freshness(repo, 'v1')).total_seconds())"
    )
    assert float(checked) > STALENESS_SECONDS

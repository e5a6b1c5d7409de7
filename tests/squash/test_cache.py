"""quaysquash.squash.cache: priming (API, command, auto-prime on push), eviction to the budget
and, on the pytest-django database, single-flight rows and restarts."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import requests
from django.utils import timezone

from quaysquash.squash import cache
from quaysquash.squash.models import SquashedImage
from tests.support.tools import DEBIAN_APP, require
from tests.support.waiting import wait_for

from .conftest import PASSWORD, cache_key
from .images import layer_digests, make_layout


def skopeo_push(site, layout, target: str) -> None:
    """Push ``layout``'s ``latest`` to ``target`` as alice, the way a user pushes a tag."""
    push = subprocess.run(
        [
            require("skopeo"),
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            f"alice:{PASSWORD}",
            f"oci:{layout}:latest",
            f"docker://{site.stack.host}/{target}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert push.returncode == 0, push.stderr


def test_it_primes_through_the_api_and_reports_progress(site):
    url = site.state_url("acme/tiny", "v1", format="oci", compression="gzip")
    assert requests.get(url, auth=site.auth).json()["state"] == "missing"
    primed = requests.post(url, auth=site.auth)
    assert primed.status_code in (200, 202)
    assert primed.json()["state"] in ("building", "ready")
    ready = site.wait_state("acme/tiny", "v1", "ready", format="oci", compression="gzip")
    assert ready["size"] > 0 and ready["bytes_written"] == ready["size"]
    assert ready["sha256"].startswith("sha256:") and ready["error"] == ""
    again = requests.post(url, auth=site.auth).json()
    assert again["state"] == "ready" and again["started"] is False and again["builds"] == 1


def test_it_refuses_priming_without_read(site):
    url = site.state_url("acme/tiny", "v1")
    assert requests.post(url, auth=(site.idle_robot, site.idle_token)).status_code == 404
    assert requests.post(url).status_code == 401


def test_it_primes_with_the_management_command(site):
    result = site.stack.manage("prime", "acme/tiny:v1", "--format", "rootfs", "--wait")
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["state"] == "ready" and state["format"] == "rootfs"


def test_it_auto_primes_a_pushed_tag_when_the_repository_opted_in(site):
    site.import_image(site.layouts["tiny"], "acme/auto:v1")
    site.stack.python(
        "from quaysquash.accounts.models import Repository\n"
        "Repository.objects.filter(namespace__name='acme', name='auto').update(auto_prime=True)"
    )
    site.stack.grant(site.robot, "acme/auto", "read")
    skopeo_push(site, site.layouts["tiny"], "acme/auto:v2")
    # Nobody pulled v2: only auto-prime can have built it.
    site.wait_state("acme/auto", "v2", "ready", timeout=60)


def backdate_all(site, days: int = 1) -> None:
    """Every squash last read ``days`` ago: beyond eviction's grace period."""
    site.stack.python(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from quaysquash.squash.models import SquashedImage\n"
        f"SquashedImage.objects.update(last_accessed=timezone.now() - timedelta(days={days}))"
    )


def test_it_evicts_to_the_budget_but_never_a_squash_being_read(site):
    site.import_image(DEBIAN_APP, "acme/evict:v1")
    site.stack.grant(site.robot, "acme/evict", "read")
    site.stack.manage("prime", "acme/evict:v1", "--wait")
    site.stack.manage("prime", "acme/tiny:v1", "--format", "rootfs", "--wait")
    backdate_all(site)
    # The pull renews the squash's lease; eviction (on any host) then leaves it alone.
    reading = requests.get(site.squash_url("acme/evict", "v1"), auth=site.auth, stream=True)
    try:
        assert reading.status_code == 200
        size = int(reading.headers["Content-Length"])
        received = len(next(reading.iter_content(1 << 16)))
        result = json.loads(site.stack.manage("gc", "--max-bytes", "0").stdout)
        assert result["in_use_skipped"] >= 1 and result["evicted"] >= 1
        assert site.squash_rows("acme/evict")[0]["state"] == "ready"
        states = requests.get(site.state_url("acme/tiny", "v1", format="rootfs"), auth=site.auth)
        assert states.json()["state"] == "missing"  # not being read: evicted
        received += sum(len(chunk) for chunk in reading.iter_content(1 << 20))
        assert received == size
    finally:
        reading.close()
    backdate_all(site)
    result = json.loads(site.stack.manage("gc", "--max-bytes", "0").stdout)
    assert site.squash_rows("acme/evict") == []
    assert result["total_bytes"] == 0
    assert not list((site.stack.cache_dir / "blobs").glob("*"))  # the objects went too
    # Evicted means rebuilt on the next pull, not broken.
    again = requests.get(site.squash_url("acme/evict", "v1"), auth=site.auth)
    assert again.status_code == 200 and len(again.content) > 0


def test_it_indexes_the_layers_of_a_pushed_tag_before_any_pull(site):
    layout = make_layout(site.workdir / "indexed", [{"unique.bin": os.urandom(4096)}])
    skopeo_push(site, layout, "acme/indexed:v1")
    index = (
        site.stack.storage_root
        / "indexes"
        / "sha256"
        / (layer_digests(layout)[0].split(":")[1] + ".idx")
    )
    wait_for(index.is_file, timeout=60, what=f"{index} to be written")


def test_it_never_serves_the_old_image_of_a_moved_tag(site):
    first = make_layout(site.workdir / "moving1", [{"version.txt": b"one\n"}])
    second = make_layout(site.workdir / "moving2", [{"version.txt": b"two\n"}])
    site.import_image(first, "acme/moving:v1")
    site.stack.grant(site.robot, "acme/moving", "read")
    url = site.squash_url("acme/moving", "v1", format="rootfs")
    assert requests.get(url, auth=site.auth).content.count(b"one\n") == 1
    site.import_image(second, "acme/moving:v1")  # the tag moves to another manifest
    moved = requests.get(url, auth=site.auth).content
    assert b"two\n" in moved and b"one\n" not in moved
    assert len(site.squash_rows("acme/moving")) == 2  # one cache entry per manifest


def test_it_shares_one_cached_blob_between_two_tags_of_one_manifest(site):
    site.import_image(site.layouts["tiny"], "acme/twotags:a")
    site.import_image(site.layouts["tiny"], "acme/twotags:b")
    site.stack.grant(site.robot, "acme/twotags", "read")
    a = requests.get(site.squash_url("acme/twotags", "a"), auth=site.auth)
    site.settled_rows("acme/twotags")  # else b may still follow a's build
    b = requests.get(site.squash_url("acme/twotags", "b"), auth=site.auth)
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert len(site.squash_rows("acme/twotags")) == 1
    assert [log["source"] for log in site.pull_logs("acme/twotags")][-1] == "cache"


# quaysquash.squash.cache itself, on the pytest-django database (no servers).


def test_it_creates_one_build_per_key_and_enqueues_once(tiny, django_capture_on_commit_callbacks):
    tag, _ = tiny
    with django_capture_on_commit_callbacks() as callbacks:
        first, started = cache.ensure_build(cache_key(tag), tag.manifest, "h/acme/tiny:v1")
        again, started_again = cache.ensure_build(cache_key(tag), tag.manifest, "h/acme/tiny:v1")
    assert (started, started_again) == (True, False)
    assert first.pk == again.pk
    assert len(callbacks) == 1


def test_it_restarts_a_failed_build_exactly_once(tiny, django_capture_on_commit_callbacks):
    tag, _ = tiny
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    SquashedImage.objects.filter(pk=image.pk).update(state="failed", error="boom")
    image.refresh_from_db()
    snapshot = SquashedImage.objects.get(pk=image.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert cache.restart(image) is True
        assert cache.restart(snapshot) is False  # a concurrent caller saw the same attempt
    assert len(callbacks) == 1
    image.refresh_from_db()
    assert (image.state, image.attempt, image.error) == ("building", 2, "")


def test_it_treats_a_silent_builder_as_dead(tiny, settings):
    tag, _ = tiny
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert not image.is_stale  # queued, within the queue timeout
    long_ago = timezone.now() - timedelta(seconds=settings.QS_SQUASH_STALE_SECONDS + 1)
    SquashedImage.objects.filter(pk=image.pk).update(task_id="t1", heartbeat=long_ago)
    image.refresh_from_db()
    assert image.is_stale
    _, started = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert started

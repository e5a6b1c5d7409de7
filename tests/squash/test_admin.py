"""quaysquash.squash.admin: squashed images and pull logs in the Django admin, read-only."""

from __future__ import annotations

from quaysquash.squash import cache
from quaysquash.squash.models import PullLog

from .conftest import cache_key


def test_it_shows_squashes_and_pull_logs_read_only_in_the_admin(tiny, admin_client):
    tag, _ = tiny
    cache.ensure_build(cache_key(tag), tag.manifest, None)
    log = PullLog.objects.create(
        principal="acme+deployer",
        principal_kind="robot",
        repository=tag.repository,
        repository_name="acme/tiny",
        tag="v1",
        manifest_digest=tag.manifest.digest,
        format="docker",
        compression="none",
        source="cache",
        status=200,
        bytes_sent=10,
        complete=True,
        duration=0.1,
    )
    listing = admin_client.get(
        "/admin/squash/pulllog/?source__exact=cache&principal_kind__exact=robot"
    )
    assert listing.status_code == 200 and b"acme+deployer" in listing.content
    assert admin_client.get("/admin/squash/pulllog/add/").status_code == 403
    detail = admin_client.get(f"/admin/squash/pulllog/{log.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert admin_client.get("/admin/squash/squashedimage/").status_code == 200

"""quaysquash.squash.delivery through the Django test client: a cached squash handed to nginx."""

from __future__ import annotations

from quaysquash.squash import build, cache

from .conftest import cache_key


def test_it_hands_a_cached_squash_to_nginx_when_configured(tiny, robot_auth, client, settings):
    tag, _ = tiny
    image, _ = cache.ensure_build(cache_key(tag), tag.manifest, None)
    assert build.build(image.pk, "t") == "ready"
    image.refresh_from_db()
    settings.QS_SQUASH_X_ACCEL_PREFIX = "/_squash/"
    response = client.get("/c1/squash/acme/tiny/v1", **robot_auth)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_squash/{image.file_name}"
    assert response["ETag"] == f'"{image.sha256}"'
    assert response.content == b""

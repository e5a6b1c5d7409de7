"""quaysquash.squash.views' squash state API (/api/v1/repository/<ns>/<repo>/tag/<tag>/squash)
through the Django test client: the state of a key, and CSRF on session priming."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from quaysquash.squash import build, cache

from .conftest import cache_key


def test_it_reports_the_state_of_a_key(tiny, robot_auth, client):
    url = "/api/v1/repository/acme/tiny/tag/v1/squash?format=oci"
    assert client.get(url, **robot_auth).json()["state"] == "missing"
    tag, _ = tiny
    image, _ = cache.ensure_build(cache_key(tag, "oci"), tag.manifest, None)
    body = client.get(url, **robot_auth).json()
    assert (body["state"], body["size"], body["bytes_written"]) == ("building", None, 0)
    assert build.build(image.pk, "t") == "ready"
    body = client.get(url, **robot_auth).json()
    assert body["state"] == "ready" and body["bytes_written"] == body["size"] > 0


def test_it_requires_a_csrf_token_for_session_priming(tiny, settings):
    user = get_user_model().objects.create_superuser("root", password="pw-secret-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    url = "/api/v1/repository/acme/tiny/tag/v1/squash"
    assert browser.post(url).status_code == 403
    assert browser.get(url).status_code == 200
    token = "a" * 32  # what the page's csrftoken cookie holds, sent back as X-CSRFToken
    browser.cookies["csrftoken"] = token
    primed = browser.post(url, headers={"X-CSRFToken": token})
    assert primed.status_code == 202 and primed.json()["state"] == "building"

"""The URL grammar (quaysquash.core.converters): every urls.py routes through these."""

from __future__ import annotations

import pytest
from django.urls import resolve, reverse
from django.urls.exceptions import Resolver404


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/v2/acme/web/tags/list", {"name": "acme/web"}),
        ("/v2/acme/team/web/manifests/v1", {"name": "acme/team/web", "reference": "v1"}),
        ("/c1/squash/acme/team/web/latest", {"repository": "acme/team/web", "tag": "latest"}),
        (
            "/c1/squash/acme/web@sha256:" + "a" * 64,
            {"repository": "acme/web", "digest": "sha256:" + "a" * 64},
        ),
        (
            "/repository/acme/team/web/tag/v1.2_rc",
            {"ns": "acme", "repo": "team/web", "tag": "v1.2_rc"},
        ),
        ("/api/v1/organization/acme/robots/deployer", {"org": "acme", "short": "deployer"}),
    ],
)
def test_it_resolves_names_with_slashes_tags_and_digests(path, kwargs):
    assert resolve(path).kwargs == kwargs


@pytest.mark.parametrize(
    "path",
    [
        "/c1/squash/Acme/web/v1",  # upper case is not a repository name
        "/c1/squash/acme/web/.v1",  # nor is a tag starting with a dot
        "/c1/squash/acme/web@md5:abc",  # an algorithm the squash does not accept
        "/repository/acme/-web",
    ],
)
def test_it_refuses_what_the_grammar_refuses(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_it_reverses_through_the_converters():
    url = reverse("squash:pull", kwargs={"repository": "acme/team/web", "tag": "v1"})
    assert url == "/c1/squash/acme/team/web/v1"

"""``/v2/<name>/tags/list`` and ``/v2/_catalog``: ordering, pagination, visibility."""

from __future__ import annotations

from quaysquash.accounts.models import Repository
from quaysquash.registry import mediatypes

from .conftest import error_codes

TAGS = ["a", "b", "c", "d", "e"]


def push_tags(registry, repo: str = "acme/private") -> None:
    _, raw = registry.push_image(repo, TAGS[0])
    for tag in TAGS[1:]:
        registry.push_manifest(repo, tag, raw, mediatypes.OCI_MANIFEST)


def test_it_lists_tags_in_lexical_order(registry):
    push_tags(registry)
    response = registry.request("GET", "/v2/acme/private/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": "acme/private", "tags": TAGS}
    assert "Link" not in response


def test_it_paginates_tags_with_n_last_and_a_link_header(registry):
    push_tags(registry)
    first = registry.request("GET", "/v2/acme/private/tags/list?n=2")
    assert first.json()["tags"] == ["a", "b"]
    assert first["Link"] == '</v2/acme/private/tags/list?n=2&last=b>; rel="next"'
    second = registry.request("GET", "/v2/acme/private/tags/list?n=2&last=b")
    assert second.json()["tags"] == ["c", "d"]
    third = registry.request("GET", "/v2/acme/private/tags/list?n=2&last=d")
    assert third.json()["tags"] == ["e"]
    assert "Link" not in third
    assert registry.request("GET", "/v2/acme/private/tags/list?n=0").json()["tags"] == []
    everything = registry.request("GET", "/v2/acme/private/tags/list?last=c")
    assert everything.json()["tags"] == ["d", "e"]


def test_it_refuses_invalid_page_sizes(registry):
    for n in ("-1", "many"):
        response = registry.request("GET", f"/v2/acme/private/tags/list?n={n}")
        assert response.status_code == 400
        assert error_codes(response) == ["PAGINATION_NUMBER_INVALID"]


def test_it_answers_name_unknown_for_tags_of_a_missing_repository(registry):
    response = registry.request("GET", "/v2/acme/missing/tags/list")
    assert response.status_code == 404
    assert error_codes(response) == ["NAME_UNKNOWN"]


def test_it_lists_only_readable_repositories_in_the_catalog(registry, world, client):
    Repository.objects.create(namespace=world.acme, name="zeta")
    other = Repository.objects.get(name="thing")
    admin = registry.request("GET", "/v2/_catalog").json()["repositories"]
    assert admin == ["acme/private", "acme/public", "acme/zeta"]
    assert other.full_name not in admin
    reader = registry.as_(world.reader).request("GET", "/v2/_catalog").json()["repositories"]
    assert reader == ["acme/private", "acme/public"]
    anonymous = client.get("/v2/_catalog").json()["repositories"]
    assert anonymous == ["acme/public"]
    outsider = registry.as_(world.outsider).request("GET", "/v2/_catalog").json()
    assert outsider["repositories"] == ["acme/public"]


def test_it_paginates_the_catalog(registry):
    first = registry.request("GET", "/v2/_catalog?n=1")
    assert first.json()["repositories"] == ["acme/private"]
    assert first["Link"] == '</v2/_catalog?n=1&last=acme%2Fprivate>; rel="next"'
    second = registry.request("GET", "/v2/_catalog?n=1&last=acme/private")
    assert second.json()["repositories"] == ["acme/public"]


def test_it_sorts_tags_case_insensitively_and_pages_in_that_order(registry):
    """Distribution spec, "Listing Tags": tags "MUST be in lexical order (i.e.
    case-insensitive alphanumeric order)", with ``last`` in the same order."""
    _, raw = registry.push_image("acme/private", "b")
    for tag in ("A", "a", "C", "B2"):
        registry.push_manifest("acme/private", tag, raw, mediatypes.OCI_MANIFEST)
    listed = registry.request("GET", "/v2/acme/private/tags/list").json()["tags"]
    assert listed == ["A", "a", "b", "B2", "C"]
    page = registry.request("GET", "/v2/acme/private/tags/list?n=2&last=a")
    assert page.json()["tags"] == ["b", "B2"]
    assert page["Link"] == '</v2/acme/private/tags/list?n=2&last=B2>; rel="next"'

"""The proxy page of an organization: admins make it a proxy or change the upstream (the
password stays write-only); readers see its cached tags and how fresh they are."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission
from quaysquash.proxy.models import ProxyOrganization, ProxyTag

pytestmark = pytest.mark.django_db

PASSWORD = "page-password"


@pytest.fixture
def org(django_user_model):
    admin = django_user_model.objects.create_user("admin", password=PASSWORD)
    django_user_model.objects.create_user("reader", password=PASSWORD)
    hub = Namespace.objects.create(name="hub", kind=Namespace.Kind.ORGANIZATION)
    hub.admins.add(admin)
    return hub


def login(client, username: str) -> None:
    assert client.login(username=username, password=PASSWORD)


def test_it_lets_an_admin_make_an_empty_org_a_proxy(client, org):
    login(client, "admin")
    page = client.get("/organization/hub/proxy")
    assert page.status_code == 200 and b"Make hub a proxy organization" in page.content
    assert b'href="/organization/hub/proxy"' in client.get("/organization/hub").content
    response = client.post(
        "/organization/hub/proxy",
        {"upstream_url": "https://ghcr.io/", "username": "me", "password": "tok-123",
         "verify_tls": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    proxy = ProxyOrganization.objects.get(namespace=org)
    assert (proxy.upstream_url, proxy.password, proxy.verify_tls) == (
        "https://ghcr.io",
        "tok-123",
        True,
    )
    page = client.get("/organization/hub/proxy")
    assert b"https://ghcr.io" in page.content and b"tok-123" not in page.content
    # Saving without a password keeps the stored one.
    client.post("/organization/hub/proxy", {"upstream_url": "https://ghcr.io", "username": "me"})
    proxy.refresh_from_db()
    assert proxy.password == "tok-123" and proxy.verify_tls is False


def test_it_refuses_bad_settings_and_non_admins(client, org):
    login(client, "admin")
    bad = client.post("/organization/hub/proxy", {"upstream_url": "ghcr.io", "ca_bundle": "/nope"})
    assert bad.status_code == 200
    assert b"Give a URL" in bad.content and b"is not a file" in bad.content
    assert not ProxyOrganization.objects.exists()
    client.logout()
    login(client, "reader")
    assert client.post("/organization/hub/proxy", {"upstream_url": "https://x"}).status_code == 403
    assert b"proxy-form" not in client.get("/organization/hub/proxy").content
    assert not ProxyOrganization.objects.exists()


def test_it_shows_readable_cached_tags_with_their_freshness(client, org, django_user_model):
    ProxyOrganization.objects.create(namespace=org, upstream_url="https://registry.example")
    seen = Repository.objects.create(namespace=org, name="library/nginx")
    hidden = Repository.objects.create(namespace=org, name="library/secret")
    reader = django_user_model.objects.get(username="reader")
    RepositoryPermission.objects.create(repository=seen, user=reader, role="read")
    checked = timezone.now() - timedelta(minutes=12)
    ProxyTag.objects.create(
        repository=seen, name="1.27", upstream_digest="sha256:" + "a" * 64, checked=checked
    )
    ProxyTag.objects.create(repository=hidden, name="v1", upstream_digest="sha256:" + "b" * 64)
    login(client, "reader")
    page = client.get("/organization/hub/proxy").content.decode()
    assert "library/nginx" in page and re.search(r"cached <time[^>]*>12.minutes ago<", page)
    assert "library/secret" not in page


def test_it_does_not_turn_an_org_with_repositories_into_a_proxy(client, org):
    Repository.objects.create(namespace=org, name="pushed")
    login(client, "admin")
    page = client.get("/organization/hub/proxy")
    assert b"already has repositories" in page.content and b"proxy-form" not in page.content

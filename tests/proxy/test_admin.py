"""quaysquash.proxy.admin: proxy organizations in the Django admin, the upstream password
write-only."""

from __future__ import annotations

import pytest

from quaysquash.accounts.models import Namespace
from quaysquash.proxy.admin import ProxyOrganizationForm
from quaysquash.proxy.models import ProxyOrganization

pytestmark = pytest.mark.django_db


def test_it_keeps_the_admin_password_field_write_only():
    ns = Namespace.objects.create(name="hub", kind=Namespace.Kind.ORGANIZATION)
    data = {"namespace": ns.pk, "upstream_url": "https://x", "username": "u", "verify_tls": "on"}
    form = ProxyOrganizationForm(data={**data, "password": "first"})
    assert form.is_valid(), form.errors
    proxy = form.save()
    assert proxy.password == "first"
    assert "first" not in ProxyOrganizationForm(instance=proxy).as_p()
    kept = ProxyOrganizationForm(data=data, instance=proxy)
    assert kept.is_valid()
    assert kept.save().password == "first"  # empty field: unchanged


def test_it_offers_proxy_organizations_in_the_admin(client, django_user_model):
    django_user_model.objects.create_superuser("root", password="root-password")
    assert client.login(username="root", password="root-password")
    ns = Namespace.objects.create(name="hub", kind=Namespace.Kind.ORGANIZATION)
    add = client.post(
        "/admin/proxy/proxyorganization/add/",
        {"namespace": ns.pk, "upstream_url": "https://ghcr.io", "username": "me",
         "password": "admin-typed-token", "verify_tls": "on", "ca_bundle": ""},
    )  # fmt: skip
    assert add.status_code == 302, add.content[:2000]
    proxy = ProxyOrganization.objects.get(namespace=ns)
    assert proxy.password == "admin-typed-token"
    listing = client.get("/admin/proxy/proxyorganization/")
    assert listing.status_code == 200 and b"ghcr.io" in listing.content
    change = client.get(f"/admin/proxy/proxyorganization/{proxy.pk}/change/")
    assert change.status_code == 200 and b"admin-typed-token" not in change.content
    for page in ("proxytag", "cachedimage"):
        assert client.get(f"/admin/proxy/{page}/").status_code == 200

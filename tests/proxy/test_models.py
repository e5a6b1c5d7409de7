"""Proxy organizations in the database: the command that creates them, encrypted
credentials, the admin form, and who may make one fetch a new repository."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from quaysquash.accounts.models import Namespace, Repository, RobotAccount
from quaysquash.proxy.models import ProxyOrganization
from quaysquash.proxy.permissions import may_pull_through, new_repository_actions
from quaysquash.registry import access, tokens

pytestmark = pytest.mark.django_db


def create(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("create_proxy_org", *args, stdout=out)
    finally:
        sys.stdin = saved
    return out.getvalue()


def test_it_creates_a_proxy_org_with_the_password_encrypted(django_user_model):
    django_user_model.objects.create_user("ann", password="x")
    create(
        "hub", "--upstream", "https://registry.example/", "--username", "me",
        "--password-stdin", "--admin", "ann", stdin="s3cret-token\n",
    )  # fmt: skip
    proxy = ProxyOrganization.objects.get(namespace__name="hub")
    assert proxy.upstream_url == "https://registry.example"
    assert proxy.password == "s3cret-token"
    assert "s3cret" not in proxy.password_encrypted
    assert proxy.verify_tls is True and proxy.ca_bundle == ""
    assert proxy.namespace.is_organization and proxy.namespace.admins.get().username == "ann"
    config = proxy.config()
    assert config.verify is True and "s3cret" not in repr(config)


def test_it_sets_tls_options(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not checked here")
    create("a", "--upstream", "https://a.example", "--ca-bundle", str(bundle))
    assert ProxyOrganization.objects.get(namespace__name="a").config().verify == str(bundle)
    create("b", "--upstream", "https://b.example", "--insecure")
    assert ProxyOrganization.objects.get(namespace__name="b").config().verify is False


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["--upstream", "registry.example"], "", "must be a URL"),
        (["--upstream", "https://x", "--password-stdin"], "", "standard input is empty"),
        (["--upstream", "https://x", "--password-stdin"], "pw\n", "needs --username"),
        (["--upstream", "https://x", "--ca-bundle", "/no/such/file"], "", "is not a file"),
    ],
)
def test_it_refuses_bad_arguments(args, stdin, message):
    with pytest.raises(CommandError, match=message):
        create("hub", *args, stdin=stdin)
    assert not ProxyOrganization.objects.exists()


def test_it_refuses_an_org_that_already_has_repositories():
    ns = Namespace.objects.create(name="busy", kind=Namespace.Kind.ORGANIZATION)
    Repository.objects.create(namespace=ns, name="thing")
    with pytest.raises(CommandError, match="already has repositories"):
        create("busy", "--upstream", "https://x")
    empty = Namespace.objects.create(name="empty", kind=Namespace.Kind.ORGANIZATION)
    create("empty", "--upstream", "https://x")
    assert empty.proxy.upstream_url == "https://x"
    with pytest.raises(CommandError, match="already a proxy"):
        create("empty", "--upstream", "https://y")


def test_it_keeps_the_admin_password_field_write_only():
    from quaysquash.proxy.admin import ProxyOrganizationForm

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


def test_it_lets_admins_members_and_own_robots_pull_through(django_user_model):
    admin = django_user_model.objects.create_user("admin", password="x")
    member = django_user_model.objects.create_user("member", password="x")
    stranger = django_user_model.objects.create_user("stranger", password="x")
    hub = Namespace.objects.create(name="hub", kind=Namespace.Kind.ORGANIZATION)
    hub.admins.add(admin)
    hub.members.add(member)
    other = Namespace.objects.create(name="other", kind=Namespace.Kind.ORGANIZATION)
    ProxyOrganization.objects.create(namespace=hub, upstream_url="https://x")
    own = RobotAccount.objects.create(namespace=hub, short_name="ci")
    foreign = RobotAccount.objects.create(namespace=other, short_name="ci")
    allowed = {p: may_pull_through(p, hub) for p in (admin, member, own)}
    assert allowed == {admin: True, member: True, own: True}
    assert not any(may_pull_through(p, hub) for p in (None, stranger, foreign))
    # Tokens for a name not fetched yet carry pull (never push) for exactly those.
    scope = tokens.Scope("repository", "hub/library/nginx", {"pull", "push"})
    assert access.grant(own, scope).actions == {"pull"}
    assert access.grant(admin, scope).actions == {"pull"}
    assert access.grant(foreign, scope).actions == set()
    assert new_repository_actions(own, other) is None  # not a proxy: ordinary rules


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

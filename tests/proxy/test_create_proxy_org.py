"""The create_proxy_org management command: a proxy organization with its credentials encrypted,
TLS options, and the arguments and organizations it refuses."""

from __future__ import annotations

import io
import sys

import pytest
from django.core.management import CommandError, call_command

from quaysquash.accounts.models import Namespace, Repository
from quaysquash.proxy.models import ProxyOrganization

pytestmark = pytest.mark.django_db


def create(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
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

import pytest
from django.core.management import CommandError, call_command

from quaysquash.accounts.models import Namespace
from tests.factories import user

pytestmark = pytest.mark.django_db


def test_it_creates_an_organization_with_its_admin(capsys):
    alice = user("alice")
    call_command("create_org", "acme", "--admin", "alice")
    acme = Namespace.objects.get(name="acme")
    assert acme.is_organization and acme.is_admin(alice)
    assert capsys.readouterr().out.strip() == "acme"


@pytest.mark.parametrize("name", ["Acme", "ac me", "acme+x", "_acme", ""])
def test_it_refuses_bad_names(name):
    user("alice")
    with pytest.raises(CommandError, match="invalid namespace name"):
        call_command("create_org", name, "--admin", "alice")
    assert not Namespace.objects.filter(kind="org").exists()


def test_it_refuses_an_unknown_admin():
    with pytest.raises(CommandError, match="unknown user 'bob'"):
        call_command("create_org", "acme", "--admin", "bob")
    assert not Namespace.objects.filter(name="acme").exists()


def test_it_refuses_an_existing_name():
    user("alice")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_org", "alice", "--admin", "alice")

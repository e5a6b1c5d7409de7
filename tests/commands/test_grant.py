import pytest
from django.core.management import CommandError, call_command

from quaysquash.accounts.models import RepositoryPermission
from tests.factories import org, repo, robot, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    ns = org("acme")
    repo(ns, "web")
    robot(ns, "deployer")
    user("bob")
    return ns


def test_it_grants_and_changes_a_robot_role(acme):
    call_command("grant", "acme+deployer", "acme/web", "read")
    call_command("grant", "acme+deployer", "acme/web", "write")
    assert RepositoryPermission.objects.get(robot__short_name="deployer").role == "write"


def test_it_grants_users(acme):
    call_command("grant", "bob", "acme/web", "admin")
    assert RepositoryPermission.objects.get(user__username="bob").role == "admin"


def test_it_revokes_with_none(acme):
    call_command("grant", "bob", "acme/web", "read")
    call_command("grant", "bob", "acme/web", "none")
    assert not RepositoryPermission.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["acme+ghost", "acme/web", "read"], "unknown robot"),
        (["ghost", "acme/web", "read"], "unknown user"),
        (["bob", "acme/nope", "read"], "unknown repository"),
        (["bob", "nope/web", "read"], "unknown namespace"),
        (["bob", "web", "read"], "<namespace>/<name>"),
    ],
)
def test_it_explains_bad_input_and_changes_nothing(acme, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("grant", *args)
    assert not RepositoryPermission.objects.exists()


def test_it_refuses_a_robot_of_another_org(acme):
    robot(org("other"), "ci")
    with pytest.raises(CommandError, match="another namespace"):
        call_command("grant", "other+ci", "acme/web", "read")

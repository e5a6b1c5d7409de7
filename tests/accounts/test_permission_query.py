"""Repository.objects.restrict over anonymous / user / robot / org admin × public / private."""

import pytest
from django.contrib.auth.models import AnonymousUser

from quaysquash.accounts import grants
from quaysquash.accounts.models import Repository
from quaysquash.accounts.principals import allowed_actions
from tests.factories import org, repo, robot, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    admin = user("alice")
    outsider = user("mallory")
    member = user("bob")
    acme = org("acme", admins=[admin])
    acme.members.add(member)
    other = org("other")
    w = {
        "admin": admin,
        "outsider": outsider,
        "member": member,
        "public": repo(acme, "pub", public=True),
        "private": repo(acme, "priv"),
        "granted": repo(acme, "team/tools/cli"),
        "reader": robot(acme, "reader"),
        "writer": robot(acme, "writer"),
        "foreign": robot(other, "ci"),
        "other_private": repo(other, "secret"),
    }
    grants.set_role(w["granted"], w["reader"], "read")
    grants.set_role(w["granted"], w["writer"], "write")
    grants.set_role(w["granted"], member, "read")
    return w


def names(principal, action="read"):
    return {r.name for r in Repository.objects.restrict(principal, action)}


def test_it_gives_anonymous_only_public_reads(world):
    assert names(AnonymousUser()) == {"pub"}
    assert names(None) == {"pub"}
    assert names(None, "write") == set()


def test_it_gives_outsiders_only_public_reads(world):
    assert names(world["outsider"]) == {"pub"}
    assert names(world["outsider"], "write") == set()


def test_it_gives_org_admins_admin_on_every_org_repository(world):
    everything = {"pub", "priv", "team/tools/cli"}
    assert names(world["admin"]) == everything
    assert names(world["admin"], "write") == everything
    assert names(world["admin"], "admin") == everything


def test_it_gives_members_only_what_was_granted(world):
    assert names(world["member"]) == {"pub", "team/tools/cli"}
    assert names(world["member"], "write") == set()


def test_it_gives_robots_their_roles(world):
    assert names(world["reader"]) == {"pub", "team/tools/cli"}
    assert names(world["reader"], "write") == set()
    assert names(world["writer"], "write") == {"team/tools/cli"}
    assert names(world["writer"], "admin") == set()


def test_it_gives_robots_of_another_org_nothing_private(world):
    assert names(world["foreign"]) == {"pub"}
    assert world["other_private"].name not in names(world["reader"])


def test_it_gives_superusers_everything(world):
    root = user("root", is_superuser=True, is_staff=True)
    assert names(root, "admin") == {"pub", "priv", "team/tools/cli", "secret"}


def test_it_gives_users_admin_in_their_own_namespace(world):
    own = repo(world["outsider"].own_namespace, "mine")
    assert "mine" in names(world["outsider"], "admin")
    assert "mine" not in names(world["member"])
    assert allowed_actions(world["outsider"], own) == {"read", "write", "admin"}


def test_it_lists_allowed_actions(world):
    assert allowed_actions(world["writer"], world["granted"]) == {"read", "write"}
    assert allowed_actions(None, world["public"]) == {"read"}
    assert allowed_actions(None, world["private"]) == set()


def test_it_refuses_granting_a_robot_outside_its_namespace(world):
    with pytest.raises(ValueError):
        grants.set_role(world["other_private"], world["reader"], "read")

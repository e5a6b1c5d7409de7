"""The one definition of a namespace admin: Namespace.objects.administered_by / is_admin."""

import pytest
from django.contrib.auth.models import AnonymousUser

from quaysquash.accounts.models import Namespace, Repository
from tests.factories import org, repo, robot, user

pytestmark = pytest.mark.django_db


def test_it_makes_users_admins_of_their_own_namespace_only():
    alice = user("alice")
    bob = user("bob")
    own = Namespace.objects.get(name="alice")
    assert own.is_admin(alice)
    assert not own.is_admin(bob)
    assert list(Namespace.objects.administered_by(alice)) == [own]


def test_it_makes_named_admins_admins_of_the_organization():
    alice, bob = user("alice"), user("bob")
    acme = org("acme", admins=[alice])
    acme.members.add(bob)
    assert acme.is_admin(alice)
    assert not acme.is_admin(bob)  # members are not admins
    assert set(Namespace.objects.administered_by(alice)) == {
        acme,
        Namespace.objects.get(name="alice"),
    }


def test_it_makes_superusers_admins_of_everything():
    root = user("root", is_superuser=True)
    acme = org("acme")
    assert acme.is_admin(root)
    assert Namespace.objects.administered_by(root).count() == Namespace.objects.count()


def test_it_never_makes_robots_or_anonymous_callers_admins():
    acme = org("acme")
    bot = robot(acme, "deployer")
    for principal in (None, AnonymousUser(), bot):
        assert not acme.is_admin(principal)
        assert not Namespace.objects.administered_by(principal).exists()


def test_it_gives_namespace_admins_admin_on_every_repository():
    alice = user("alice")
    acme = org("acme", admins=[alice])
    web = repo(acme, "web")
    own = repo(Namespace.objects.get(name="alice"), "tools")
    repo(org("other"), "secret")
    assert set(Repository.objects.restrict(alice, "admin")) == {web, own}

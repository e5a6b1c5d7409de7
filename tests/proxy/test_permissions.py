"""quaysquash.proxy.permissions: who may make a proxy organization fetch a new repository, and
the token actions that follows from it."""

from __future__ import annotations

import pytest

from quaysquash.accounts.models import Namespace, RobotAccount
from quaysquash.proxy.models import ProxyOrganization
from quaysquash.proxy.permissions import may_pull_through, new_repository_actions
from quaysquash.registry import access, tokens

pytestmark = pytest.mark.django_db


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

"""Who may make a proxy organization fetch a repository it does not have yet.

Existing proxy repositories follow the ordinary permission model
(``Repository.objects.restrict``). A pull of a *new* name reaches out to the upstream and
creates a repository, so it is reserved to the organization's own principals: its admins (and
superusers), its members, and its robots. Anonymous callers never trigger one, even when the
organization makes its repositories public; they pull what is already there.
"""

from __future__ import annotations

from quaysquash.accounts.models import Namespace, RobotAccount
from quaysquash.accounts.principals import Principal, is_anonymous

from .models import ProxyOrganization


def may_pull_through(principal: Principal, namespace: Namespace) -> bool:
    if is_anonymous(principal):
        return False
    if isinstance(principal, RobotAccount):
        return principal.namespace_id == namespace.pk
    if namespace.is_admin(principal):
        return True
    return namespace.members.filter(pk=principal.pk).exists()


def new_repository_actions(principal: Principal, namespace: Namespace) -> set[str] | None:
    """Registry actions on a not-yet-existing repository of ``namespace``: ``{"pull"}`` for
    those who may pull through, nothing for others; ``None`` when it is no proxy organization
    (the ordinary rules apply)."""
    if not ProxyOrganization.objects.filter(namespace=namespace).exists():
        return None
    return {"pull"} if may_pull_through(principal, namespace) else set()

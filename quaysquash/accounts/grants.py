"""Granting and revoking repository roles, shared by commands, admin actions and the API."""

from __future__ import annotations

from django.db import transaction

from .models import Repository, RepositoryPermission, RobotAccount, Role


@transaction.atomic
def set_role(repository: Repository, principal, role: str | None) -> RepositoryPermission | None:
    """Give ``principal`` (user or robot) exactly ``role`` on ``repository``; None revokes."""
    if role is not None and role not in Role.values:
        raise ValueError(f"unknown role {role!r}: use read, write or admin")
    if isinstance(principal, RobotAccount):
        if principal.namespace_id != repository.namespace_id:
            raise ValueError(
                f"robot {principal.full_name} belongs to another namespace than {repository}"
            )
        lookup = {"repository": repository, "robot": principal}
    else:
        lookup = {"repository": repository, "user": principal}
    if role is None:
        RepositoryPermission.objects.filter(**lookup).delete()
        return None
    perm, _ = RepositoryPermission.objects.update_or_create(defaults={"role": role}, **lookup)
    return perm

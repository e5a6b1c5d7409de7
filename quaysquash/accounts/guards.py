"""Lookups shared by the pages and the JSON API, all going through the one permission query.

A repository the caller may not read answers exactly like a missing one (404), so private names
never leak; a readable repository the caller may not change answers 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from quaysquash.accounts.models import Namespace, Repository, RepositoryPermission, RobotAccount
from quaysquash.accounts.principals import Principal, is_anonymous


def principal_of(request) -> Principal:
    # Pages and the API authenticate by session only; robots use the registry and squash URLs.
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def readable_repository(principal: Principal, namespace: str, name: str) -> Repository:
    repo = (
        Repository.objects.restrict(principal, "read")
        .select_related("namespace")
        .filter(namespace__name=namespace, name=name)
        .first()
    )
    if repo is None:
        raise Http404("repository not found")
    return repo


def repository_for(principal: Principal, namespace: str, name: str, action: str) -> Repository:
    """The repository if ``principal`` may ``action`` it; 404 when unreadable, else 403."""
    repo = readable_repository(principal, namespace, name)
    if action != "read" and not can(principal, repo, action):
        raise PermissionDenied(f"{action} permission required on {repo.full_name}")
    return repo


def can(principal: Principal, repo: Repository, action: str) -> bool:
    return Repository.objects.restrict(principal, action).filter(pk=repo.pk).exists()


def namespace_or_404(name: str) -> Namespace:
    try:
        return Namespace.objects.get(name=name)
    except Namespace.DoesNotExist:
        raise Http404("namespace not found") from None


def can_see_robots(principal: Principal, namespace: Namespace) -> bool:
    """Who may list a namespace's robot names (never their tokens): its admins and members,
    and users granted a role on one of its repositories, who need a robot for the squashed
    download command."""
    if is_anonymous(principal) or isinstance(principal, RobotAccount):
        return False
    if namespace.is_admin(principal):
        return True
    if namespace.members.filter(pk=principal.pk).exists():
        return True
    return RepositoryPermission.objects.filter(
        user=principal, repository__namespace=namespace
    ).exists()


def robot_or_404(namespace: Namespace, short_name: str) -> RobotAccount:
    robot = RobotAccount.objects.filter(namespace=namespace, short_name=short_name).first()
    if robot is None:
        raise Http404("robot not found")
    robot.namespace = namespace
    return robot


def robots_with_read(repo: Repository) -> set[int]:
    """Ids of the namespace's robots that may read ``repo`` (any role implies read)."""
    qs = RobotAccount.objects.filter(namespace=repo.namespace)
    if repo.is_public:
        return set(qs.values_list("pk", flat=True))
    return set(qs.filter(Q(permissions__repository=repo)).values_list("pk", flat=True).distinct())

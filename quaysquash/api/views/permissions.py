"""Repository permissions of users and robots (Quay: /permissions/user/<name>, /robot/<short>)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import Repository, RepositoryPermission

from ..schemas import PermissionListSchema, PermissionSchema
from ..serializers import RoleSerializer
from .common import validated


def _user_or_400(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApiValidationError({"user": f"no user {username!r}"})
    return user


def _permission_json(perm: RepositoryPermission) -> dict:
    if perm.robot_id:
        return {"name": perm.robot.full_name, "kind": "robot", "role": perm.role}
    return {"name": perm.user.get_username(), "kind": "user", "role": perm.role}


class PermissionListView(APIView):
    @extend_schema(operation_id="listRepoPermissions", responses={200: PermissionListSchema})
    def get(self, request: Request, ns: str, repo: str, kind: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        field = "robot" if kind == "robot" else "user"
        perms = (
            RepositoryPermission.objects.filter(repository=repository)
            .filter(**{f"{field}__isnull": False})
            .select_related("robot__namespace", "user")
        )
        return Response(
            {"permissions": {_permission_json(p)["name"]: _permission_json(p) for p in perms}}
        )


class PermissionView(APIView):
    """One principal's role on a repository (Quay: /permissions/user/<name>, /robot/<short>)."""

    def _target(self, repository: Repository, kind: str, name: str) -> dict:
        """The permission row's principal field, e.g. ``{"robot": <RobotAccount>}``."""
        if kind == "robot":
            ns, sep, short = name.rpartition("+")
            if sep and ns != repository.namespace.name:
                # Quay only grants a namespace's own robots on its repositories.
                raise Http404("robot not found")
            return {"robot": access.robot_or_404(repository.namespace, short)}
        return {"user": _user_or_400(name)}

    @extend_schema(operation_id="getRepoPermission", responses={200: PermissionSchema})
    def get(self, request: Request, ns: str, repo: str, kind: str, name: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        perm = (
            RepositoryPermission.objects.filter(repository=repository)
            .filter(**self._target(repository, kind, name))
            .select_related("robot__namespace", "user")
            .first()
        )
        if perm is None:
            raise Http404("no permission")
        return Response(_permission_json(perm))

    @extend_schema(
        operation_id="changeRepoPermission",
        request=RoleSerializer,
        responses={200: PermissionSchema},
    )
    def put(self, request: Request, ns: str, repo: str, kind: str, name: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        data = validated(RoleSerializer, request)
        target = self._target(repository, kind, name)
        with transaction.atomic():
            perm = RepositoryPermission.objects.filter(repository=repository, **target).first()
            if perm is None:
                perm = RepositoryPermission(repository=repository, **target)
            perm.role = data["role"]
            perm.save()
        return Response(_permission_json(perm))

    @extend_schema(operation_id="deleteRepoPermission", responses={204: None})
    def delete(self, request: Request, ns: str, repo: str, kind: str, name: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        deleted, _ = (
            RepositoryPermission.objects.filter(repository=repository)
            .filter(**self._target(repository, kind, name))
            .delete()
        )
        if not deleted:
            raise Http404("no permission")
        return Response(status=status.HTTP_204_NO_CONTENT)

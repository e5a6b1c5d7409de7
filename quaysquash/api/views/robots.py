"""An organization's robot accounts: list, create, delete, credentials, token regeneration
and the organization's token expiry policy. Tokens only ever go to namespace admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import (
    Namespace,
    RepositoryPermission,
    RobotAccount,
    default_token_expiry,
)
from quaysquash.accounts.names import validate_robot_short_name
from quaysquash.core.credentials import robot_credentials

from ..schemas import (
    RobotCredentialsSchema,
    RobotListSchema,
    RobotPolicySchema,
    RobotSchema,
)
from ..serializers import RobotCreateSerializer, RobotPolicySerializer, RobotTokenSerializer
from .common import bool_param as _bool
from .common import ts as _ts
from .common import validated


def robot_json(
    robot: RobotAccount,
    *,
    with_token: bool,
    permissions: list[RepositoryPermission] | None = None,
) -> dict:
    data = {
        "name": robot.full_name,
        "short_name": robot.short_name,
        "description": robot.description,
        "created": _ts(robot.created),
        "last_accessed": _ts(robot.last_used),
        "token_expires": _ts(robot.token_expires),
        "token_expired": robot.token_expired(),
    }
    if with_token:
        data["token"] = robot.token
    if permissions is not None:
        data["repositories"] = [p.repository.name for p in permissions]
        data["permissions"] = [
            {"repository": p.repository.name, "role": p.role} for p in permissions
        ]
    return data


def token_expiry(namespace: Namespace, data: dict) -> datetime | None:
    """The expiry a create or regenerate asked for, checked against the organization's policy."""
    if "token_expiration" not in data:
        return default_token_expiry(namespace)
    when = data["token_expiration"]
    if when is None:
        if namespace.robot_token_days:
            raise ApiValidationError(
                {
                    "token_expiration": f"{namespace.name} requires robot tokens to expire "
                    f"within {namespace.robot_token_days} days"
                }
            )
        return None
    expires = datetime.fromtimestamp(when, tz=UTC)
    now = timezone.now()
    if expires <= now:
        raise ApiValidationError({"token_expiration": "must be in the future"})
    if namespace.robot_token_days:
        limit = now + timedelta(days=namespace.robot_token_days, minutes=1)
        if expires > limit:
            raise ApiValidationError(
                {
                    "token_expiration": f"{namespace.name} allows at most "
                    f"{namespace.robot_token_days} days"
                }
            )
    return expires


def _namespace_for_robots(request: Request, org: str, *, admin: bool):
    principal = access.principal_of(request)
    namespace = access.namespace_or_404(org)
    if admin:
        if not namespace.is_admin(principal):
            raise PermissionDenied("organization admin required")
    elif not access.can_see_robots(principal, namespace):
        raise PermissionDenied("not a member of this organization")
    return principal, namespace


def _permissions_by_robot(robots: list[RobotAccount]) -> dict[int, list[RepositoryPermission]]:
    by_robot: dict[int, list[RepositoryPermission]] = {r.pk: [] for r in robots}
    for perm in (
        RepositoryPermission.objects.filter(robot__in=robots)
        .select_related("repository")
        .order_by("repository__name")
    ):
        by_robot[perm.robot_id].append(perm)
    return by_robot


class RobotListView(APIView):
    @extend_schema(
        operation_id="getOrgRobots",
        parameters=[
            OpenApiParameter("permissions", bool),
            OpenApiParameter("token", bool, description="include tokens (admins only)"),
            OpenApiParameter("repository", str, description="mark robots that can read it"),
        ],
        responses={200: RobotListSchema},
    )
    def get(self, request: Request, org: str) -> Response:
        principal, namespace = _namespace_for_robots(request, org, admin=False)
        is_admin = namespace.is_admin(principal)
        robots = list(RobotAccount.objects.filter(namespace=namespace).order_by("short_name"))
        for robot in robots:
            robot.namespace = namespace
        params = request.query_params
        with_token = is_admin and _bool(params.get("token"), True)
        perms = _permissions_by_robot(robots) if _bool(params.get("permissions"), False) else {}
        readers: set[int] | None = None
        if repo_name := params.get("repository"):
            repository = access.readable_repository(principal, org, repo_name)
            readers = access.robots_with_read(repository)
        out = []
        for robot in robots:
            data = robot_json(robot, with_token=with_token, permissions=perms.get(robot.pk))
            if readers is not None:
                data["can_read"] = robot.pk in readers
            out.append(data)
        return Response(
            {"robots": out, "is_admin": is_admin, "robot_token_days": namespace.robot_token_days}
        )


class RobotView(APIView):
    @extend_schema(operation_id="getOrgRobot", responses={200: RobotSchema})
    def get(self, request: Request, org: str, short: str) -> Response:
        principal, namespace = _namespace_for_robots(request, org, admin=False)
        robot = access.robot_or_404(namespace, short)
        return Response(
            robot_json(
                robot,
                with_token=namespace.is_admin(principal),
                permissions=_permissions_by_robot([robot])[robot.pk],
            )
        )

    @extend_schema(
        operation_id="createOrgRobot", request=RobotCreateSerializer, responses={201: RobotSchema}
    )
    def put(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        data = validated(RobotCreateSerializer, request)
        try:
            validate_robot_short_name(short)
        except ValidationError as exc:
            raise ApiValidationError({"name": exc.messages}) from None
        expires = token_expiry(namespace, data)
        try:
            with transaction.atomic():
                robot = RobotAccount.objects.create(
                    namespace=namespace,
                    short_name=short,
                    description=data["description"],
                    token_expires=expires,
                )
        except IntegrityError:
            raise ApiValidationError({"name": f"robot {org}+{short} already exists"}) from None
        return Response(
            robot_json(robot, with_token=True, permissions=[]), status=status.HTTP_201_CREATED
        )

    @extend_schema(operation_id="deleteOrgRobot", responses={204: None})
    def delete(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        access.robot_or_404(namespace, short).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class RobotRegenerateView(APIView):
    @extend_schema(
        operation_id="regenerateOrgRobotToken",
        request=RobotTokenSerializer,
        responses={200: RobotCredentialsSchema},
    )
    def post(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        robot = access.robot_or_404(namespace, short)
        data = validated(RobotTokenSerializer, request)
        robot.regenerate_token(token_expiry(namespace, data))
        return Response(credentials_json(robot))


def credentials_json(robot: RobotAccount) -> dict:
    data = robot_credentials(robot.full_name, robot.token).as_dict()
    data["token_expires"] = _ts(robot.token_expires)
    data["token_expired"] = robot.token_expired()
    return data


class RobotCredentialsView(APIView):
    """Everything the credentials dialog shows: token, logins, config.json, Kubernetes secret."""

    @extend_schema(operation_id="getOrgRobotCredentials", responses={200: RobotCredentialsSchema})
    def get(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        return Response(credentials_json(access.robot_or_404(namespace, short)))


class RobotPolicyView(APIView):
    """The organization's setting "robot tokens expire after N days" (null: never)."""

    @extend_schema(operation_id="getOrgRobotPolicy", responses={200: RobotPolicySchema})
    def get(self, request: Request, org: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=False)
        return Response({"robot_token_days": namespace.robot_token_days})

    @extend_schema(
        operation_id="changeOrgRobotPolicy",
        request=RobotPolicySerializer,
        responses={200: RobotPolicySchema},
    )
    def put(self, request: Request, org: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        data = validated(RobotPolicySerializer, request)
        # Applies to tokens issued from now on; existing tokens keep their expiry.
        namespace.robot_token_days = data["robot_token_days"]
        namespace.save(update_fields=["robot_token_days"])
        return Response({"robot_token_days": namespace.robot_token_days})

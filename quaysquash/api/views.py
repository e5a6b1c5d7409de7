"""Quay's v1 API paths that the pages use. Every repository lookup goes through
``Repository.objects.restrict``: a repository the caller may not read answers 404."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts.models import Repository, RepositoryPermission, RobotAccount
from quaysquash.accounts.names import validate_robot_short_name
from quaysquash.registry import errors as registry_errors
from quaysquash.registry.manifests import delete_tag, set_tag
from quaysquash.registry.models import Manifest, ManifestChild, Tag
from quaysquash.web import access, commands
from quaysquash.web.tags import (
    DEFAULT_PAGE_SIZE,
    build_rows,
    page_of,
    parse_filter,
    tag_queryset,
)

from .serializers import (
    RepositoryUpdateSerializer,
    RobotCreateSerializer,
    RoleSerializer,
    TagUpdateSerializer,
)

MAX_PAGE_SIZE = 100


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        raise ApiValidationError({"detail": f"not a number: {value!r}"}) from None
    return min(max(number, low), high)


def _bool(value: str | None, default: bool) -> bool:
    if value in (None, ""):
        return default
    return value.lower() in ("1", "true", "yes", "on")


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def repository_json(repo: Repository, principal) -> dict:
    stats = repo.tags.filter(lifetime_end__isnull=True).aggregate(
        count=Count("pk"), last=Max("lifetime_start")
    )
    return {
        "namespace": repo.namespace.name,
        "name": repo.name,
        "description": repo.description,
        "is_public": repo.is_public,
        "visibility": "public" if repo.is_public else "private",
        "auto_prime": repo.auto_prime,
        "kind": "image",
        "is_organization": repo.namespace.is_organization,
        "can_write": access.can(principal, repo, "write"),
        "can_admin": access.can(principal, repo, "admin"),
        "tag_count": stats["count"],
        "last_modified": _ts(stats["last"]),
        "created": _ts(repo.created),
    }


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
    }
    if with_token:
        data["token"] = robot.token
    if permissions is not None:
        data["repositories"] = [p.repository.name for p in permissions]
        data["permissions"] = [
            {"repository": p.repository.name, "role": p.role} for p in permissions
        ]
    return data


class RepositoryListView(APIView):
    @extend_schema(
        operation_id="listRepos",
        parameters=[OpenApiParameter("namespace", str), OpenApiParameter("public", bool)],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        principal = access.principal_of(request)
        qs = Repository.objects.restrict(principal, "read").select_related("namespace")
        if ns := request.query_params.get("namespace"):
            qs = qs.filter(namespace__name=ns)
        if "public" in request.query_params:
            qs = qs.filter(is_public=_bool(request.query_params["public"], True))
        return Response({"repositories": [repository_json(r, principal) for r in qs[:500]]})


class RepositoryView(APIView):
    @extend_schema(operation_id="getRepo", responses={200: dict})
    def get(self, request: Request, ns: str, repo: str) -> Response:
        principal = access.principal_of(request)
        return Response(repository_json(access.readable_repository(principal, ns, repo), principal))

    @extend_schema(
        operation_id="updateRepo", request=RepositoryUpdateSerializer, responses={200: dict}
    )
    def put(self, request: Request, ns: str, repo: str) -> Response:
        principal = access.principal_of(request)
        repository = access.repository_for(principal, ns, repo, "admin")
        body = RepositoryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if "description" in data:
            repository.description = data["description"]
        if "visibility" in data:
            repository.is_public = data["visibility"] == "public"
        if "is_public" in data:
            repository.is_public = data["is_public"]
        if "auto_prime" in data:
            repository.auto_prime = data["auto_prime"]
        repository.save(update_fields=["description", "is_public", "auto_prime"])
        return Response(repository_json(repository, principal))

    @extend_schema(operation_id="deleteRepository", responses={204: None})
    def delete(self, request: Request, ns: str, repo: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        delete_repository(repository)
        return Response(status=status.HTTP_204_NO_CONTENT)


@transaction.atomic
def delete_repository(repo: Repository) -> None:
    # Tags and index children protect manifests from deletion; remove them first, in order.
    Tag.objects.filter(repository=repo).delete()
    ManifestChild.objects.filter(parent__repository=repo).delete()
    repo.delete()


class TagListView(APIView):
    @extend_schema(
        operation_id="listRepoTags",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("filter_tag_name", str, description="like:<text> or eq:<name>"),
            OpenApiParameter("specificTag", str),
            OpenApiParameter("onlyActiveTags", bool),
        ],
        responses={200: dict},
    )
    def get(self, request: Request, ns: str, repo: str) -> Response:
        repository = access.readable_repository(access.principal_of(request), ns, repo)
        params = request.query_params
        page = _int(params.get("page"), 1, 1, 10**9)
        limit = _int(params.get("limit"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        like, exact = parse_filter(params.get("filter_tag_name") or params.get("filter") or "")
        exact = params.get("specificTag") or exact
        qs = tag_queryset(
            repository,
            active_only=_bool(params.get("onlyActiveTags"), True),
            name_filter=like,
            exact=exact,
        )
        tags, more = page_of(qs, page, limit)
        return Response(
            {
                "tags": [row.as_api() for row in build_rows(tags)],
                "page": page,
                "has_additional": more,
            }
        )


class TagView(APIView):
    @extend_schema(operation_id="getRepoTag", responses={200: dict})
    def get(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.readable_repository(access.principal_of(request), ns, repo)
        found = tag_queryset(repository, exact=tag).first()
        if found is None:
            raise Http404("tag not found")
        return Response(build_rows([found])[0].as_api())

    @extend_schema(operation_id="changeTag", request=TagUpdateSerializer, responses={201: dict})
    def put(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "write")
        body = TagUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        current = Tag.objects.active().filter(repository=repository, name=tag).first()
        if "manifest_digest" in data:
            manifest = Manifest.objects.filter(
                repository=repository, digest=data["manifest_digest"]
            ).first()
            if manifest is None:
                raise ApiValidationError({"manifest_digest": "no such manifest in repository"})
            try:
                current = set_tag(repository, tag, manifest)
            except registry_errors.TagInvalid as exc:
                raise ApiValidationError({"tag": str(exc)}) from None
        elif current is None:
            raise Http404("tag not found")
        if "expiration" in data:
            when = data["expiration"]
            expiration = datetime.fromtimestamp(when, tz=UTC) if when is not None else None
            # Expiration is a property of the current lifetime, not a new lifetime.
            Tag.objects.filter(pk=current.pk).update(expiration=expiration)
            current.expiration = expiration
        return Response(build_rows([current])[0].as_api(), status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="deleteFullTag", responses={204: None})
    def delete(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "write")
        if not delete_tag(repository, tag):
            raise Http404("tag not found")
        return Response(status=status.HTTP_204_NO_CONTENT)


class FetchCommandView(APIView):
    """The Fetch Tag modal's command; only namespace admins get a robot's real token."""

    @extend_schema(
        operation_id="getFetchCommand",
        parameters=[
            # Not "format": DRF reserves that query parameter for its renderer choice.
            OpenApiParameter("kind", str, enum=list(commands.FORMATS)),
            OpenApiParameter("robot", str, description="short or full robot name"),
            OpenApiParameter("platform", str),
            OpenApiParameter("compression", str, enum=["none", "gzip"]),
        ],
        responses={200: dict},
    )
    def get(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        principal = access.principal_of(request)
        repository = access.readable_repository(principal, ns, repo)
        found = tag_queryset(repository, exact=tag).first()
        if found is None:
            raise Http404("tag not found")
        params = request.query_params
        fmt = params.get("kind") or "docker-tag"
        if fmt not in commands.FORMATS:
            raise ApiValidationError({"kind": f"one of {', '.join(commands.FORMATS)}"})
        row = build_rows([found])[0]
        platforms = [p.platform for p in row.platforms]
        platform = params.get("platform") or ""
        if row.is_index:
            if platform and platform not in platforms:
                raise ApiValidationError({"platform": f"one of {', '.join(platforms)}"})
            if not platform and platforms:
                platform = "linux/amd64" if "linux/amd64" in platforms else platforms[0]
        else:
            platform = ""
        result = {
            "format": fmt,
            "label": commands.FORMATS[fmt],
            "platform": platform,
            "platforms": platforms,
            "robot": None,
            "warning": "",
            "token_included": False,
        }
        fetch = commands.FetchRequest(
            namespace=ns,
            repo=repo,
            tag=tag,
            digest=row.digest,
            format=fmt,
            platform=platform,
            compressed=params.get("compression") == "gzip",
        )
        robot_name = params.get("robot") or ""
        if fmt in commands.SQUASH_FORMATS and robot_name:
            short = robot_name.split("+", 1)[1] if "+" in robot_name else robot_name
            if "+" in robot_name and robot_name.split("+", 1)[0] != ns:
                raise Http404("robot not found")
            if not access.can_see_robots(principal, repository.namespace):
                raise PermissionDenied("you may not use this namespace's robots")
            robot = access.robot_or_404(repository.namespace, short)
            can_read = Repository.objects.restrict(robot, "read").filter(pk=repository.pk).exists()
            fetch.robot_name = robot.full_name
            if access.is_namespace_admin(principal, repository.namespace):
                fetch.token = robot.token
                result["token_included"] = True
            result["robot"] = {"name": robot.full_name, "can_read": can_read}
            if not can_read:
                result["warning"] = (
                    f"{robot.full_name} does not have read permission on {repository.full_name}: "
                    "this command will fail until it is granted."
                )
        elif fmt in commands.SQUASH_FORMATS and not repository.is_public:
            result["warning"] = (
                f"{repository.full_name} is private: choose a robot account with read permission."
            )
        result["command"] = commands.fetch_command(fetch)
        return Response(result)


def _namespace_for_robots(request: Request, org: str, *, admin: bool):
    principal = access.principal_of(request)
    namespace = access.namespace_or_404(org)
    if admin:
        if not access.is_namespace_admin(principal, namespace):
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
        responses={200: dict},
    )
    def get(self, request: Request, org: str) -> Response:
        principal, namespace = _namespace_for_robots(request, org, admin=False)
        is_admin = access.is_namespace_admin(principal, namespace)
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
        return Response({"robots": out, "is_admin": is_admin})


class RobotView(APIView):
    @extend_schema(operation_id="getOrgRobot", responses={200: dict})
    def get(self, request: Request, org: str, short: str) -> Response:
        principal, namespace = _namespace_for_robots(request, org, admin=False)
        robot = access.robot_or_404(namespace, short)
        return Response(
            robot_json(
                robot,
                with_token=access.is_namespace_admin(principal, namespace),
                permissions=_permissions_by_robot([robot])[robot.pk],
            )
        )

    @extend_schema(
        operation_id="createOrgRobot", request=RobotCreateSerializer, responses={201: dict}
    )
    def put(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        body = RobotCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            validate_robot_short_name(short)
        except ValidationError as exc:
            raise ApiValidationError({"name": exc.messages}) from None
        try:
            with transaction.atomic():
                robot = RobotAccount.objects.create(
                    namespace=namespace,
                    short_name=short,
                    description=body.validated_data["description"],
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
    @extend_schema(operation_id="regenerateOrgRobotToken", request=None, responses={200: dict})
    def post(self, request: Request, org: str, short: str) -> Response:
        _, namespace = _namespace_for_robots(request, org, admin=True)
        robot = access.robot_or_404(namespace, short)
        robot.regenerate_token()
        return Response(robot_json(robot, with_token=True))


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
    @extend_schema(operation_id="listRepoPermissions", responses={200: dict})
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

    @extend_schema(operation_id="getRepoPermission", responses={200: dict})
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
        operation_id="changeRepoPermission", request=RoleSerializer, responses={200: dict}
    )
    def put(self, request: Request, ns: str, repo: str, kind: str, name: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "admin")
        body = RoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = self._target(repository, kind, name)
        with transaction.atomic():
            perm = RepositoryPermission.objects.filter(repository=repository, **target).first()
            if perm is None:
                perm = RepositoryPermission(repository=repository, **target)
            perm.role = body.validated_data["role"]
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

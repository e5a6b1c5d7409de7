"""The Fetch Tag modal's command; only namespace admins get a robot's real token."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import Repository
from quaysquash.core import commands
from quaysquash.registry import mediatypes
from quaysquash.registry.tagrows import build_rows, tag_queryset
from quaysquash.squash.pullmodels import SquashedManifest

from ..schemas import FetchCommandSchema


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
            OpenApiParameter("client", str, enum=list(commands.CLIENTS), description="squash-pull"),
            OpenApiParameter(
                "by", str, enum=["tag", "digest"], description="squash-pull: pin the digest"
            ),
        ],
        responses={200: FetchCommandSchema},
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
        if fmt in commands.SQUASH_FORMATS and not row.squashable:
            raise ApiValidationError(
                {"kind": "this artifact is not a container image: it cannot be squashed"}
            )
        platforms = [p.platform for p in row.platforms]
        platform = params.get("platform") or ""
        client = params.get("client") or "docker"
        if client not in commands.CLIENTS:
            raise ApiValidationError({"client": f"one of {', '.join(commands.CLIENTS)}"})
        if fmt not in commands.ARCHIVE_FORMATS:
            platform = ""  # a squashed pull serves the index: the client picks the platform
        elif row.is_index:
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
            "squashed_digest": "",
        }
        fetch = commands.FetchRequest(
            namespace=ns,
            repo=repo,
            tag=tag,
            digest=row.digest,
            format=fmt,
            platform=platform,
            compressed=params.get("compression") == "gzip",
            client=client,
        )
        if fmt == "squash-pull" and params.get("by") == "digest":
            fetch.squashed_digest = _squashed_digest(repository, row.digest)
            result["squashed_digest"] = fetch.squashed_digest
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
            if repository.namespace.is_admin(principal):
                fetch.token = robot.token
                result["token_included"] = True
            result["robot"] = {"name": robot.full_name, "can_read": can_read}
            if robot.token_expired():
                result["warning"] = (
                    f"The token of {robot.full_name} has expired: this command will be refused "
                    "until an administrator regenerates it."
                )
            elif not can_read:
                result["warning"] = (
                    f"{robot.full_name} does not have read permission on {repository.full_name}: "
                    "this command will fail until it is granted."
                )
        elif fmt in commands.SQUASH_FORMATS and not repository.is_public:
            result["warning"] = (
                f"{repository.full_name} is private: choose a robot account with read permission."
            )
        if fmt == "squash-pull" and params.get("by") == "digest" and not fetch.squashed_digest:
            result["warning"] = result["warning"] or (
                "The squashed digest is known once the squashed image has been pulled once: "
                "this shows the tag until then."
            )
        result["command"] = commands.fetch_command(fetch)
        snippet = commands.fetch_kubernetes(fetch)
        result["kubernetes"] = snippet.as_dict() if snippet else None
        return Response(result)


def _squashed_digest(repository: Repository, source_digest: str) -> str:
    """The OCI squashed (gzip) manifest of ``source_digest`` served so far, or ""."""
    row = (
        SquashedManifest.objects.filter(
            repository=repository,
            source_digest=source_digest,
            compression="gzip",
            media_type__in=(mediatypes.OCI_MANIFEST, mediatypes.OCI_INDEX),
        )
        .order_by("-created")
        .first()
    )
    return row.digest if row else ""

"""Repositories: list, read, change settings, delete."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Max
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import Repository
from quaysquash.registry.models import ManifestChild, Tag

from ..schemas import RepositoryListSchema, RepositorySchema
from ..serializers import RepositoryUpdateSerializer
from .common import bool_param as _bool
from .common import ts as _ts
from .common import validated


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


class RepositoryListView(APIView):
    @extend_schema(
        operation_id="listRepos",
        parameters=[OpenApiParameter("namespace", str), OpenApiParameter("public", bool)],
        responses={200: RepositoryListSchema},
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
    @extend_schema(operation_id="getRepo", responses={200: RepositorySchema})
    def get(self, request: Request, ns: str, repo: str) -> Response:
        principal = access.principal_of(request)
        return Response(repository_json(access.readable_repository(principal, ns, repo), principal))

    @extend_schema(
        operation_id="updateRepo",
        request=RepositoryUpdateSerializer,
        responses={200: RepositorySchema},
    )
    def put(self, request: Request, ns: str, repo: str) -> Response:
        principal = access.principal_of(request)
        repository = access.repository_for(principal, ns, repo, "admin")
        data = validated(RepositoryUpdateSerializer, request)
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

"""Tags: list (sorted, filtered, paged), one tag, add/move/expire/delete, bulk changes."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.registry import errors as registry_errors
from quaysquash.registry.manifests import delete_tag, set_tag
from quaysquash.registry.models import Manifest, Tag
from quaysquash.registry.tagrows import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    SORT_KEYS,
    build_rows,
    page_of,
    parse_filter,
    tag_queryset,
)

from ..schemas import BulkTagsSchema, TagListSchema, TagNamesSchema, TagSchema
from ..serializers import TagBulkSerializer, TagUpdateSerializer
from .common import MAX_PAGE_SIZE, validated
from .common import bool_param as _bool
from .common import int_param as _int

# Enough for "select all tags" on any realistic repository, still one bounded answer.
MAX_NAMES = 10000
SORT_VALUES = [k for key in SORT_KEYS for k in (key, f"-{key}")]


def _expiration(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value is not None else None


class TagListView(APIView):
    @extend_schema(
        operation_id="listRepoTags",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            OpenApiParameter(
                "filter_tag_name",
                str,
                description="like:<text> (tag names and digests) or eq:<name>",
            ),
            OpenApiParameter("specificTag", str),
            OpenApiParameter("onlyActiveTags", bool),
            OpenApiParameter("sort", str, enum=SORT_VALUES, description=f"default {DEFAULT_SORT}"),
            OpenApiParameter("manifest_digest", str, description="only tags of this manifest"),
        ],
        responses={200: TagListSchema},
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
            sort=params.get("sort") or DEFAULT_SORT,
            manifest_digest=params.get("manifest_digest") or "",
        )
        tags, more = page_of(qs, page, limit)
        return Response(
            {
                "tags": [row.as_api() for row in build_rows(tags)],
                "page": page,
                "has_additional": more,
                "total": qs.count(),
            }
        )


class TagNamesView(APIView):
    """Every matching tag name at once: what "select all tags" (not only the page) selects."""

    @extend_schema(
        operation_id="listRepoTagNames",
        parameters=[
            OpenApiParameter("filter", str, description="part of a tag name or digest"),
            OpenApiParameter("manifest_digest", str, description="only tags of this manifest"),
        ],
        responses={200: TagNamesSchema},
    )
    def get(self, request: Request, ns: str, repo: str) -> Response:
        repository = access.readable_repository(access.principal_of(request), ns, repo)
        params = request.query_params
        qs = tag_queryset(
            repository,
            name_filter=params.get("filter") or "",
            manifest_digest=params.get("manifest_digest") or "",
            sort="tag",
        )
        return Response({"tags": list(qs.values_list("name", flat=True)[:MAX_NAMES])})


class TagBulkView(APIView):
    """Delete many tags, or set (or clear) their expiration, in one transaction."""

    @extend_schema(
        operation_id="bulkChangeTags", request=TagBulkSerializer, responses={200: BulkTagsSchema}
    )
    def post(self, request: Request, ns: str, repo: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "write")
        data = validated(TagBulkSerializer, request)
        names = list(dict.fromkeys(data["tags"]))
        changed: list[str] = []
        with transaction.atomic():
            if data["action"] == "delete":
                changed = [n for n in names if delete_tag(repository, n)]
            else:
                active = Tag.objects.active().filter(repository=repository, name__in=names)
                changed = sorted(active.values_list("name", flat=True))
                active.update(expiration=_expiration(data.get("expiration")))
        missing = [n for n in names if n not in set(changed)]
        return Response({"changed": changed, "missing": missing})


class TagView(APIView):
    @extend_schema(operation_id="getRepoTag", responses={200: TagSchema})
    def get(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.readable_repository(access.principal_of(request), ns, repo)
        found = tag_queryset(repository, exact=tag).first()
        if found is None:
            raise Http404("tag not found")
        return Response(build_rows([found])[0].as_api())

    @extend_schema(
        operation_id="changeTag", request=TagUpdateSerializer, responses={201: TagSchema}
    )
    def put(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "write")
        data = validated(TagUpdateSerializer, request)
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
            expiration = _expiration(data["expiration"])
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

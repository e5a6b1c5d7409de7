"""Tag history (every lifetime as events, optionally the expirations to come) and restoring a
tag to a manifest it pointed at before (Quay's ``POST .../tag/<tag>/restore``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.registry.taghistory import (
    HISTORY_PAGE_SIZE,
    RestoreError,
    history_events,
    history_queryset,
    restore_tag,
)
from quaysquash.registry.tagrows import build_rows, page_of

from ..schemas import HistorySchema, TagSchema
from ..serializers import TagRestoreSerializer
from .common import bool_param as _bool
from .common import int_param as _int
from .common import validated


class TagHistoryView(APIView):
    @extend_schema(
        operation_id="getRepoTagHistory",
        parameters=[
            OpenApiParameter("page", int),
            OpenApiParameter("filter", str, description="part of a tag name or digest"),
            OpenApiParameter("future", bool, description="include scheduled expirations"),
        ],
        responses={200: HistorySchema},
    )
    def get(self, request: Request, ns: str, repo: str) -> Response:
        principal = access.principal_of(request)
        repository = access.readable_repository(principal, ns, repo)
        params = request.query_params
        page = _int(params.get("page"), 1, 1, 10**9)
        rows, more = page_of(
            history_queryset(repository, params.get("filter") or ""), page, HISTORY_PAGE_SIZE
        )
        events = history_events(rows, repository, future=_bool(params.get("future"), False))
        can_write = access.can(principal, repository, "write")
        out = []
        for event in events:
            data = event.as_api()
            if not can_write:  # readers see what happened, not what they could do
                data["restore_digest"] = data["restore_action"] = data["current_digest"] = None
            out.append(data)
        return Response({"events": out, "page": page, "has_additional": more})


class TagRestoreView(APIView):
    @extend_schema(
        operation_id="restoreTag", request=TagRestoreSerializer, responses={200: TagSchema}
    )
    def post(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        repository = access.repository_for(access.principal_of(request), ns, repo, "write")
        data = validated(TagRestoreSerializer, request)
        try:
            restored = restore_tag(repository, tag, data["manifest_digest"])
        except RestoreError as exc:
            raise ApiValidationError({"manifest_digest": str(exc)}) from None
        return Response(build_rows([restored])[0].as_api())

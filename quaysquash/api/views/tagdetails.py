"""One tag in depth: manifest, config, layers with their commands, platforms, and what
squashing it saves (from the layer indexes)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from quaysquash.accounts import guards as access
from quaysquash.registry.imageinfo import image_info, tag_image
from quaysquash.registry.tagrows import tag_queryset
from quaysquash.squash.savings import SavingsUnavailable, savings_or_reason

from ..schemas import SavingsSchema, TagDetailsSchema

PLATFORM = OpenApiParameter("platform", str, description="for an index: os/arch[/variant]")


def resolve(request: Request, ns: str, repo: str, tag: str):
    repository = access.readable_repository(access.principal_of(request), ns, repo)
    found = tag_queryset(repository, exact=tag).first()
    if found is None:
        raise Http404("tag not found")
    wanted = request.query_params.get("platform") or ""
    shown = tag_image(found.manifest, wanted)
    if wanted and shown.children and shown.platform != wanted:
        raise ApiValidationError(
            {"platform": f"one of {', '.join(c.platform for c in shown.children)}"}
        )
    return found, shown


class TagDetailsView(APIView):
    @extend_schema(
        operation_id="getRepoTagDetails", parameters=[PLATFORM], responses={200: TagDetailsSchema}
    )
    def get(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        found, shown = resolve(request, ns, repo, tag)
        return Response(
            {
                "name": found.name,
                "manifest_digest": found.manifest.digest,
                "media_type": found.manifest.media_type,
                "is_manifest_list": found.manifest.is_index,
                "platform": shown.platform or None,
                "platforms": [
                    {"platform": c.platform, "manifest_digest": c.child.digest}
                    for c in shown.children
                ],
                "image": image_info(shown.image).as_dict() if shown.image else None,
            }
        )


class TagSavingsView(APIView):
    @extend_schema(
        operation_id="getRepoTagSquashSavings",
        parameters=[PLATFORM],
        responses={200: SavingsSchema},
    )
    def get(self, request: Request, ns: str, repo: str, tag: str) -> Response:
        _, shown = resolve(request, ns, repo, tag)
        if shown.image is None or not image_info(shown.image).is_image:
            raise ApiValidationError({"tag": "not a container image: nothing to squash"})
        try:
            data = savings_or_reason(shown.image).as_dict()
        except SavingsUnavailable as exc:
            raise ApiValidationError({"tag": str(exc)}) from None
        data["manifest_digest"] = shown.image.digest
        data["platform"] = shown.platform or None
        return Response(data)

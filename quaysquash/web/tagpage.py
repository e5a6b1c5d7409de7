"""The tag page (Quay's tag details, from the tag name in the Tags tab): manifest, config,
layers with the command that made each, platforms of an index, and what squashing saves."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from quaysquash.accounts import guards as access
from quaysquash.core import commands
from quaysquash.registry.imageinfo import image_info, tag_image
from quaysquash.registry.tagrows import build_rows, tag_queryset
from quaysquash.squash.savings import SavingsUnavailable, savings_or_reason

from .charts import savings_svg


def tag_page(request: HttpRequest, ns: str, repo: str, tag: str) -> HttpResponse:
    principal = access.principal_of(request)
    repository = access.readable_repository(principal, ns, repo)
    found = tag_queryset(repository, exact=tag).first()
    if found is None:
        raise Http404("tag not found")
    shown = tag_image(found.manifest, request.GET.get("platform", ""))
    info = image_info(shown.image) if shown.image else None
    savings = error = None
    if info is not None and info.is_image:
        try:
            savings = savings_or_reason(shown.image)
        except SavingsUnavailable as exc:
            error = str(exc)
    row = build_rows([found])[0]
    return render(
        request,
        "web/tag.html",
        {
            "repo": repository,
            "tag": found,
            "row": row,
            "shown": shown,
            "info": info,
            "savings": savings,
            "savings_error": error,
            "chart": savings_svg(savings) if savings else "",
            "pull": commands.fetch_command(
                commands.FetchRequest(ns, repo, tag, found.manifest.digest, "docker-digest")
            ),
            "squashed_pull": (
                commands.fetch_command(commands.FetchRequest(ns, repo, tag, "", "squash-pull"))
                if row.squashable
                else ""
            ),
            "title": f"{repository.full_name}:{tag}",
        },
    )

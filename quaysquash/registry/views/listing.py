"""``/v2/<name>/tags/list`` and ``/v2/_catalog``: sorted names with ``n``/``last`` pagination."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from .. import errors
from ..access import PULL, authorize, readable_repositories
from ..models import Tag
from .base import RegistryView, json_response

MAX_PAGE = 10000


def _page_size(request: HttpRequest) -> int | None:
    value = request.GET.get("n")
    if value is None or value == "":
        return None
    try:
        n = int(value)
    except ValueError as exc:
        raise errors.PaginationNumberInvalid(detail={"n": value}) from exc
    if n < 0:
        raise errors.PaginationNumberInvalid(detail={"n": value})
    return min(n, MAX_PAGE)


def lexical(name: str) -> tuple[str, str]:
    """Sort key: distribution spec, "Listing Tags": "lexical order (i.e. case-insensitive
    alphanumeric order)"; names equal but for case keep a stable order."""
    return name.lower(), name


def paginate(request: HttpRequest, names: list[str], path: str) -> tuple[list[str], dict[str, str]]:
    """The page of ``names`` (sorted by :func:`lexical`) after ``last``, and a ``Link`` header
    when more follow."""
    n = _page_size(request)
    last = request.GET.get("last")
    if last:
        names = [x for x in names if lexical(x) > lexical(last)]
    if n is None or len(names) <= n:
        return names, {}
    page = names[:n]
    if not page:
        return page, {}
    query = urlencode({"n": n, "last": page[-1]})
    return page, {"Link": f'<{path}?{query}>; rel="next"'}


class TagsListView(RegistryView):
    def get(self, request: HttpRequest, name: str) -> HttpResponse:
        repository = authorize(request, name, PULL)
        names = sorted(
            Tag.objects.active()
            .filter(repository=repository, manifest__deleted__isnull=True)
            .values_list("name", flat=True),
            key=lexical,
        )
        page, headers = paginate(request, names, f"/v2/{name}/tags/list")
        return json_response({"name": name, "tags": page}, **headers)


class CatalogView(RegistryView):
    def get(self, request: HttpRequest) -> HttpResponse:
        # Only what the caller may read: the catalog must not reveal private names.
        names = sorted(r.full_name for r in readable_repositories(request))
        page, headers = paginate(request, names, "/v2/_catalog")
        return json_response({"repositories": page}, **headers)

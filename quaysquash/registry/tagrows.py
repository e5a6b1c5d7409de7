"""Tag rows as the Tags tab and the tag API show them: size, platforms, filter and pages.

Sizes are computed for one page at a time so a repository with thousands of tags costs a
bounded number of queries per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from quaysquash.accounts.models import Repository
from quaysquash.registry.mediatypes import IMAGE_CONFIGS
from quaysquash.registry.models import Manifest, ManifestChild, ManifestLayer, Tag
from quaysquash.squash import pullnames

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
# The Tags tab's sortable columns (Quay's): URL value -> what it orders by.
SORT_KEYS = ("tag", "modified", "size", "expires", "manifest")
DEFAULT_SORT = "-modified"


@dataclass
class PlatformInfo:
    platform: str
    digest: str
    size: int


@dataclass
class TagRow:
    tag: Tag
    name: str
    digest: str
    media_type: str
    is_index: bool
    size: int
    last_modified: datetime
    expiration: datetime | None
    end: datetime | None
    platforms: list[PlatformInfo] = field(default_factory=list)
    squashable: bool = True
    # Other active tags on the same manifest (the Tags tab's coloured markers).
    shared_with: list[str] = field(default_factory=list)

    @property
    def marker(self) -> int:
        """A stable colour number (0-7) for tags that share a manifest."""
        return int(self.digest.rpartition(":")[2][:6] or "0", 16) % 8

    @property
    def squashed_pull(self) -> str | None:
        """The read-only registry name of this tag's squashed image (images only)."""
        if not self.squashable:
            return None
        full = self.tag.repository.full_name
        return pullnames.reference(settings.QS_SERVER_HOSTNAME, full, self.name)

    def as_api(self) -> dict:
        """Quay's tag object, plus the platforms of an index."""
        return {
            "name": self.name,
            "manifest_digest": self.digest,
            "media_type": self.media_type,
            "is_manifest_list": self.is_index,
            "size": self.size,
            "last_modified": _http_date(self.last_modified),
            "start_ts": int(self.last_modified.timestamp()),
            "end_ts": int(self.end.timestamp()) if self.end else None,
            "expiration": _http_date(self.expiration) if self.expiration else None,
            "expiration_ts": int(self.expiration.timestamp()) if self.expiration else None,
            "platforms": [
                {"platform": p.platform, "manifest_digest": p.digest, "size": p.size}
                for p in self.platforms
            ],
            "squashable": self.squashable,
            "squashed_pull": self.squashed_pull,
        }


def _http_date(value: datetime) -> str:
    return value.strftime("%a, %d %b %Y %H:%M:%S -0000")


def parse_sort(raw: str) -> str:
    """``tag``, ``-size``…: a known column with an optional ``-``; anything else the default."""
    return raw if raw.lstrip("-") in SORT_KEYS else DEFAULT_SORT


def _size_expression():
    # An image's size is its layers'; an index's the sum over its children's layers.
    own = (
        ManifestLayer.objects.filter(manifest=OuterRef("manifest"))
        .values("manifest")
        .annotate(total=Sum("size"))
        .values("total")
    )
    children = (
        ManifestLayer.objects.filter(manifest__parents__parent=OuterRef("manifest"))
        .values("manifest__parents__parent")
        .annotate(total=Sum("size"))
        .values("total")
    )
    zero = Value(0, output_field=IntegerField())
    return Coalesce(Subquery(own), zero) + Coalesce(Subquery(children), zero)


def tag_queryset(
    repo: Repository,
    *,
    active_only: bool = True,
    name_filter: str = "",
    exact: str = "",
    sort: str = DEFAULT_SORT,
    manifest_digest: str = "",
) -> QuerySet[Tag]:
    """Tags of ``repo``; ``name_filter`` matches tag names and manifest digests."""
    qs = Tag.objects.active() if active_only else Tag.objects.all()
    qs = qs.filter(repository=repo).select_related("manifest", "repository__namespace")
    if exact:
        qs = qs.filter(name=exact)
    elif name_filter:
        qs = qs.filter(Q(name__icontains=name_filter) | Q(manifest__digest__icontains=name_filter))
    if manifest_digest:
        qs = qs.filter(manifest__digest=manifest_digest)
    sort = parse_sort(sort)
    key, descending = sort.lstrip("-"), sort.startswith("-")
    if key == "size":
        qs = qs.annotate(size_sort=_size_expression())
    column = {
        "tag": F("name"),
        "modified": F("lifetime_start"),
        "size": F("size_sort"),
        "expires": F("expiration"),
        "manifest": F("manifest__digest"),
    }[key]
    # "Never expires" sorts after every date either way, as Quay lists it.
    order = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return qs.order_by(order, "name")


def parse_filter(raw: str) -> tuple[str, str]:
    """Quay's ``filter_tag_name=like:foo`` / ``eq:foo``, or a bare substring."""
    kind, sep, value = raw.partition(":")
    if sep and kind == "eq":
        return "", value
    if sep and kind == "like":
        return value, ""
    return raw, ""


def page_of(qs: QuerySet[Tag], page: int, limit: int) -> tuple[list[Tag], bool]:
    """One page (1-based) and whether more follow, without counting the whole table."""
    page = max(page, 1)
    start = (page - 1) * limit
    rows = list(qs[start : start + limit + 1])
    return rows[:limit], len(rows) > limit


def manifest_sizes(manifest_ids: list[int]) -> dict[int, int]:
    """Compressed size of each image manifest: the sum of its layer sizes."""
    sizes = dict.fromkeys(manifest_ids, 0)
    for row in (
        Manifest.objects.filter(pk__in=manifest_ids)
        .annotate(total=Sum("layers__size"))
        .values("pk", "total")
    ):
        sizes[row["pk"]] = row["total"] or 0
    return sizes


def is_image(manifest: Manifest) -> bool:
    """An image manifest whose config is an image config (not another OCI artifact)."""
    if manifest.is_index:
        return False
    try:
        config = json.loads(bytes(manifest.raw)).get("config") or {}
    except (ValueError, AttributeError):
        return False
    return config.get("mediaType") in IMAGE_CONFIGS


def shared_tags(repo: Repository, digests: list[str]) -> dict[str, list[str]]:
    """For each digest, the names of all active tags of ``repo`` that point at it."""
    out: dict[str, list[str]] = {d: [] for d in digests}
    for name, digest in (
        Tag.objects.active()
        .filter(repository=repo, manifest__digest__in=digests)
        .order_by("name")
        .values_list("name", "manifest__digest")
    ):
        out[digest].append(name)
    return out


def build_rows(tags: list[Tag], *, shared: bool = False) -> list[TagRow]:
    index_ids = [t.manifest_id for t in tags if t.manifest.is_index]
    children = list(ManifestChild.objects.filter(parent_id__in=index_ids).select_related("child"))
    sizes = manifest_sizes(
        [t.manifest_id for t in tags if not t.manifest.is_index] + [c.child_id for c in children]
    )
    platforms: dict[int, list[PlatformInfo]] = {}
    for child in children:
        platforms.setdefault(child.parent_id, []).append(
            PlatformInfo(child.platform, child.child.digest, sizes.get(child.child_id, 0))
        )
    rows = []
    for tag in tags:
        plats = platforms.get(tag.manifest_id, [])
        is_index = tag.manifest.is_index
        size = sum(p.size for p in plats) if is_index else sizes.get(tag.manifest_id, 0)
        rows.append(
            TagRow(
                tag=tag,
                name=tag.name,
                digest=tag.manifest.digest,
                media_type=tag.manifest.media_type,
                is_index=is_index,
                size=size,
                last_modified=tag.lifetime_start,
                expiration=tag.expiration,
                end=tag.lifetime_end,
                platforms=plats,
                squashable=(
                    any(is_image(c.child) for c in children if c.parent_id == tag.manifest_id)
                    if is_index
                    else is_image(tag.manifest)
                ),
            )
        )
    if shared and tags:
        names = shared_tags(tags[0].repository, list({r.digest for r in rows}))
        for row in rows:
            row.shared_with = [n for n in names.get(row.digest, []) if n != row.name]
    return rows

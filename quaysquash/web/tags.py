"""Tag rows as the Tags tab and the tag API show them: size, platforms, filter and pages.

Sizes are computed for one page at a time so a repository with thousands of tags costs a
bounded number of queries per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet, Sum

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Manifest, ManifestChild, Tag

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


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
        }


def _http_date(value: datetime) -> str:
    return value.strftime("%a, %d %b %Y %H:%M:%S -0000")


def tag_queryset(
    repo: Repository, *, active_only: bool = True, name_filter: str = "", exact: str = ""
) -> QuerySet[Tag]:
    qs = Tag.objects.active() if active_only else Tag.objects.all()
    qs = qs.filter(repository=repo)
    if exact:
        qs = qs.filter(name=exact)
    elif name_filter:
        qs = qs.filter(name__icontains=name_filter)
    return qs.select_related("manifest").order_by("-lifetime_start", "name")


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


def build_rows(tags: list[Tag]) -> list[TagRow]:
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
            )
        )
    return rows


@dataclass
class HistoryEvent:
    kind: str  # created, moved, deleted, expired
    tag: str
    when: datetime
    digest: str
    old_digest: str = ""


def history_events(tags: list[Tag], repo: Repository) -> list[HistoryEvent]:
    """Turn tag lifetimes into Quay's history events: a lifetime that starts where another of
    the same name ended is a move; an end that no lifetime continues is a deletion."""
    names = {t.name for t in tags}
    all_rows = list(Tag.objects.filter(repository=repo, name__in=names).select_related("manifest"))
    ended_at = {(t.name, t.lifetime_end): t for t in all_rows if t.lifetime_end}
    started_at = {(t.name, t.lifetime_start) for t in all_rows}
    events: list[HistoryEvent] = []
    for tag in tags:
        before = ended_at.get((tag.name, tag.lifetime_start))
        if before is not None:
            events.append(
                HistoryEvent(
                    "moved",
                    tag.name,
                    tag.lifetime_start,
                    tag.manifest.digest,
                    before.manifest.digest,
                )
            )
        else:
            events.append(
                HistoryEvent("created", tag.name, tag.lifetime_start, tag.manifest.digest)
            )
        if tag.lifetime_end and (tag.name, tag.lifetime_end) not in started_at:
            events.append(HistoryEvent("deleted", tag.name, tag.lifetime_end, tag.manifest.digest))
        elif tag.lifetime_end is None and tag.expiration and tag.expiration <= _now():
            events.append(HistoryEvent("expired", tag.name, tag.expiration, tag.manifest.digest))
    events.sort(key=lambda e: e.when, reverse=True)
    return events


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()

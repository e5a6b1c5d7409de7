"""A repository's tag history as Quay shows it, and putting a tag back where it once pointed.

Tag rows are never rewritten or pruned (only deleting the repository removes them), so the
history is permanent: every lifetime of every tag name becomes events (created, moved, deleted,
expired) and, on request, the expirations still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from quaysquash.accounts.models import Repository

from .manifests import set_tag
from .models import Manifest, Tag
from .signals import tag_pushed

HISTORY_PAGE_SIZE = 50


class RestoreError(Exception):
    """A restore that cannot happen; the message is meant for the user as is."""


@dataclass
class HistoryEvent:
    kind: str  # created, moved, deleted, expired, or "expires" (scheduled, in the future)
    tag: str
    when: datetime
    digest: str
    old_digest: str = ""
    # What one click puts the tag back to ("Revert to" a move, "Restore to" otherwise).
    restore_digest: str = ""
    restore_verb: str = ""
    current_digest: str = ""  # where the tag points now (empty: nowhere), for the confirmation

    @property
    def future(self) -> bool:
        return self.kind == "expires"

    def sentence(self, short=lambda d: d) -> str:
        name, new, old = self.tag, short(self.digest), short(self.old_digest)
        return {
            "created": f"{name} was created pointing to {new}",
            "moved": f"{name} was moved to {new} from {old}",
            "deleted": f"{name} was deleted (it pointed to {new})",
            "expired": f"{name} expired (it pointed to {new})",
            "expires": f"{name} will expire (it points to {new})",
        }[self.kind]

    def as_api(self) -> dict:
        return {
            "kind": self.kind,
            "tag": self.tag,
            "time": int(self.when.timestamp()),
            "manifest_digest": self.digest,
            "old_manifest_digest": self.old_digest or None,
            "message": self.sentence(),
            "future": self.future,
            "restore_digest": self.restore_digest or None,
            "restore_action": self.restore_verb or None,
            "current_digest": self.current_digest or None,
        }


def history_queryset(repo: Repository, query: str = "") -> QuerySet[Tag]:
    """Every lifetime of the repository's tags, newest first; ``query`` matches tag names and
    manifest digests (``sha256:…`` or a part of the hex)."""
    qs = Tag.objects.filter(repository=repo)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(manifest__digest__icontains=query))
    return qs.select_related("manifest").order_by("-lifetime_start", "name")


def history_events(
    tags: list[Tag], repo: Repository, *, future: bool = False, now: datetime | None = None
) -> list[HistoryEvent]:
    """Turn tag lifetimes into events: a lifetime that starts where another of the same name
    ended is a move; an end that no lifetime continues is a deletion. Each past event that does
    not describe where the tag points now offers to put it back (if the manifest still exists)."""
    now = now or timezone.now()
    names = {t.name for t in tags}
    all_rows = list(Tag.objects.filter(repository=repo, name__in=names).select_related("manifest"))
    ended_at = {(t.name, t.lifetime_end): t for t in all_rows if t.lifetime_end}
    started_at = {(t.name, t.lifetime_start) for t in all_rows}
    current = {
        t.name: t.manifest.digest
        for t in all_rows
        if t.lifetime_end is None and (t.expiration is None or t.expiration > now)
    }
    digests = {t.manifest.digest for t in all_rows}
    live = set(
        Manifest.objects.filter(repository=repo, digest__in=digests).values_list(
            "digest", flat=True
        )
    )

    def offer(event: HistoryEvent, digest: str, verb: str) -> HistoryEvent:
        if digest and digest in live and current.get(event.tag) != digest:
            event.restore_digest, event.restore_verb = digest, verb
            event.current_digest = current.get(event.tag, "")
        return event

    events: list[HistoryEvent] = []
    for tag in tags:
        digest = tag.manifest.digest
        before = ended_at.get((tag.name, tag.lifetime_start))
        if before is not None:
            moved = HistoryEvent(
                "moved", tag.name, tag.lifetime_start, digest, before.manifest.digest
            )
            events.append(offer(moved, before.manifest.digest, "Revert"))
        else:
            created = HistoryEvent("created", tag.name, tag.lifetime_start, digest)
            events.append(offer(created, digest, "Restore"))
        if tag.lifetime_end and (tag.name, tag.lifetime_end) not in started_at:
            events.append(
                offer(
                    HistoryEvent("deleted", tag.name, tag.lifetime_end, digest), digest, "Restore"
                )
            )
        elif tag.lifetime_end is None and tag.expiration:
            if tag.expiration <= now:
                expired = HistoryEvent("expired", tag.name, tag.expiration, digest)
                events.append(offer(expired, digest, "Restore"))
            elif future:
                events.append(HistoryEvent("expires", tag.name, tag.expiration, digest))
    events.sort(key=lambda e: e.when, reverse=True)
    return events


def restore_tag(repo: Repository, name: str, digest: str) -> Tag:
    """Point ``name`` at ``digest`` again, as a new lifetime (the history keeps the move).

    Only a manifest the tag pointed at before, and that still exists, can be restored.
    """
    with transaction.atomic():
        if not Tag.objects.filter(repository=repo, name=name, manifest__digest=digest).exists():
            raise RestoreError(f"{name} never pointed to {digest}")
        manifest = Manifest.objects.filter(repository=repo, digest=digest).first()
        if manifest is None:
            raise RestoreError(f"{digest} was deleted from {repo.full_name}: it cannot be restored")
        previous = Tag.objects.active().filter(repository=repo, name=name).first()
        tag = set_tag(repo, name, manifest)
    if previous is None or previous.pk != tag.pk:
        # As after a push that moved the tag: index new layers, auto-prime the squash.
        tag_pushed.send(sender=restore_tag, tag=tag)
    return tag

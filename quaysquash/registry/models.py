"""Blobs, manifests and tags: the content of repositories, with tag history."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from quaysquash.accounts.models import Repository


class Blob(models.Model):
    """A content-addressed blob (layer, config, artifact) kept once in storage.

    Where the bytes live is derived from the digest by the storage backend.
    """

    digest = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.digest


class RepositoryBlob(models.Model):
    """A blob known to a repository: pushed, mounted or referenced there.

    Blobs are shared across repositories in storage, but a repository only serves the
    blobs linked to it, so private content never leaks through another repository.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="blob_links")
    blob = models.ForeignKey(Blob, on_delete=models.CASCADE, related_name="repository_links")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "blob"], name="unique_repository_blob")
        ]


class ManifestQuerySet(models.QuerySet):
    def live(self) -> ManifestQuerySet:
        return self.filter(deleted__isnull=True)


class LiveManifestManager(models.Manager.from_queryset(ManifestQuerySet)):
    # Deleted manifests stay as rows because tag history points at them; every ordinary
    # lookup must not see them, so the default manager hides them.
    def get_queryset(self) -> ManifestQuerySet:
        return super().get_queryset().filter(deleted__isnull=True)


class Manifest(models.Model):
    """A manifest or index in a repository, kept byte-for-byte as pushed.

    ``digest`` is the sha256 of ``raw``. Image manifests have a config blob and ordered layers;
    indexes (OCI index, Docker manifest list) have ordered children with their platforms.

    Deleting a manifest through the registry API sets ``deleted``: the row stays because ended
    tag rows (history) still reference it. ``Manifest.objects`` hides deleted rows,
    ``Manifest.all_objects`` shows them; pushing the same bytes again revives the row.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=200)
    media_type = models.CharField(max_length=255)
    artifact_type = models.CharField(max_length=255, blank=True)
    raw = models.BinaryField()
    config_blob = models.ForeignKey(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_digest = models.CharField(max_length=200, blank=True, db_index=True)
    created = models.DateTimeField(default=timezone.now)
    deleted = models.DateTimeField(null=True, blank=True)

    objects = LiveManifestManager()
    all_objects = ManifestQuerySet.as_manager()

    class Meta:
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(fields=["repository", "digest"], name="unique_manifest")
        ]

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}"

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def is_index(self) -> bool:
        from .mediatypes import INDEXES

        return self.media_type in INDEXES


class ManifestLayer(models.Model):
    """One layer of an image manifest, in order (position 0 is the base layer)."""

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveIntegerField()
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="+")
    media_type = models.CharField(max_length=255)
    size = models.BigIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["manifest", "position"], name="unique_layer_position")
        ]


class ManifestChild(models.Model):
    """A child manifest of an index, with the platform it is for."""

    parent = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="children")
    child = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="parents")
    position = models.PositiveIntegerField()
    os = models.CharField(max_length=64, blank=True)
    architecture = models.CharField(max_length=64, blank=True)
    variant = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["position"]

    @property
    def platform(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


class TagQuerySet(models.QuerySet):
    def active(self) -> TagQuerySet:
        now = timezone.now()
        return self.filter(lifetime_end__isnull=True).filter(
            Q(expiration__isnull=True) | Q(expiration__gt=now)
        )


class Tag(models.Model):
    """One lifetime of a tag name pointing at a manifest.

    Moving or deleting a tag ends the current row (``lifetime_end``) and, for a move, starts a
    new one: rows are never rewritten, so the table is the tag's history.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.PROTECT, related_name="tags")
    lifetime_start = models.DateTimeField(default=timezone.now)
    lifetime_end = models.DateTimeField(null=True, blank=True)
    expiration = models.DateTimeField(null=True, blank=True)

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["-lifetime_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name"],
                condition=Q(lifetime_end__isnull=True),
                name="unique_active_tag",
            )
        ]
        indexes = [models.Index(fields=["repository", "name", "lifetime_end"])]

    def __str__(self) -> str:
        return f"{self.repository}:{self.name}"


class Upload(models.Model):
    """An upload session (``/v2/<name>/blobs/uploads/<uuid>``) whose bytes sit in a temp file."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="uploads")
    offset = models.BigIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

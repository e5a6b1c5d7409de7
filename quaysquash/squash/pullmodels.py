"""The squashed manifests the registry has served, so that a pull by digest finds its source."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from quaysquash.accounts.models import Repository


class SquashedManifest(models.Model):
    """One squashed manifest (or index) served under ``/v2/squashed[-zstd]/<repo>/``.

    Written the first time a squashed manifest is served. A squashed manifest is a pure function
    of its source manifest and the compression (the build is deterministic), so this row is all
    a later ``GET …/manifests/<digest>`` needs, even after the cache evicted the squash: it
    rebuilds from ``source_digest`` and checks that the result has ``digest`` again. The config
    and layer digests let blob requests find their source the same way; ``diff_id`` makes the
    config computable without the layer.
    """

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="squashed_manifests"
    )
    digest = models.CharField(max_length=80, help_text="Digest of the squashed manifest.")
    media_type = models.CharField(max_length=100)
    source_digest = models.CharField(
        max_length=80, help_text="The source manifest (or index) it was made from."
    )
    compression = models.CharField(max_length=8)
    config_digest = models.CharField(max_length=80, blank=True, db_index=True)
    layer_digest = models.CharField(max_length=80, blank=True, db_index=True)
    layer_size = models.BigIntegerField(null=True, blank=True)
    diff_id = models.CharField(max_length=80, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "digest"], name="unique_squashed_manifest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.repository_id} {self.digest[:19]} <- {self.source_digest[:19]}"

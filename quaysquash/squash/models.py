"""The squashed-image cache (one row per cache key, carrying its build state) and the pull log."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from quaysquash.accounts.models import Repository
from quaysquash.registry.models import Manifest

FORMATS = ("docker", "oci", "rootfs")
COMPRESSIONS = ("none", "gzip", "zstd")
EXTENSIONS = {"none": ".tar", "gzip": ".tar.gz", "zstd": ".tar.zst"}


class SquashedImage(models.Model):
    """One squashed image in the cache, and the state of the build that makes it.

    The key is (repository, manifest digest, platform, format, compression): never the tag name,
    so a moved tag never serves the old image and two tags on one manifest share one blob. The
    repository is part of the key because the archive names the image (``RepoTags``), and a
    blob built for one repository must not carry its name into another.

    The UNIQUE constraint on the key is what makes builds single-flight: exactly one request
    manages to insert the row (or to move a failed/stale row to a new ``attempt``), and only that
    request enqueues the Celery task. Everybody else, on any web server, follows the segments the
    worker commits into the shared storage.

    Life of a row: ``building`` (queued: ``task_id`` empty; claimed: ``task_id`` set, then
    ``size`` and ``partial_name`` once planned, ``bytes_written`` (committed bytes),
    ``segment_ends`` and ``heartbeat`` refreshed while writing) → ``ready`` (``file_name``
    complete, ``sha256`` known) or ``failed`` (``error``, ``failure``, ``retry_after``: until
    then requests get the error instead of a new build).
    """

    class State(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Failure(models.TextChoices):
        CONTENT = "content", "Content"
        TRANSIENT = "transient", "Transient"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="squashes")
    manifest_digest = models.CharField(
        max_length=200, help_text="Digest of the requested manifest (an index for multi-arch)."
    )
    platform = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=8, choices=[(f, f) for f in FORMATS], default="docker")
    compression = models.CharField(
        max_length=8, choices=[(c, c) for c in COMPRESSIONS], default="none"
    )
    image_manifest = models.ForeignKey(
        Manifest,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The single-platform image manifest whose layers are squashed.",
    )
    repo_tag = models.CharField(
        max_length=512, blank=True, help_text="Name written into the archive (first tag pulled)."
    )

    state = models.CharField(max_length=8, choices=State.choices, default=State.BUILDING)
    attempt = models.PositiveIntegerField(
        default=1, help_text="Builds started for this key; followers notice a restart by it."
    )
    task_id = models.CharField(max_length=64, blank=True, help_text="Celery task owning it.")
    worker = models.CharField(
        max_length=255, blank=True, help_text="host:pid of the process building it."
    )
    heartbeat = models.DateTimeField(null=True, blank=True)
    size = models.BigIntegerField(
        null=True, blank=True, help_text="Exact output size: planned (uncompressed) or final."
    )
    bytes_written = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=80, blank=True)
    diff_id = models.CharField(
        max_length=80, blank=True, help_text="sha256 of the merged layer tar (uncompressed)."
    )
    error = models.TextField(blank=True)
    # Why a failed build failed: "content" (the image itself: corrupt or hostile layer, limit,
    # digest or diff_id mismatch) or "transient" (worker, storage, disk); the key is not built
    # again before ``retry_after`` (null: at once).
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True)
    retry_after = models.DateTimeField(null=True, blank=True)
    partial_name = models.CharField(
        max_length=255, blank=True, help_text="Storage prefix of the build's segments."
    )
    segment_ends = models.TextField(
        blank=True,
        help_text="End offsets of the committed segments (comma-separated), as of the last "
        "heartbeat; followers read the live list from Redis.",
    )
    file_name = models.CharField(
        max_length=255, blank=True, help_text="Storage name of the finished squash."
    )

    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    last_accessed = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "manifest_digest", "platform", "format", "compression"],
                name="unique_squash_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.repository_id}@{self.manifest_digest[:19]} {self.platform} "
            f"{self.format}/{self.compression} ({self.state})"
        )

    @property
    def is_stale(self) -> bool:
        """A build whose worker stopped refreshing the heartbeat (killed) or never started."""
        if self.state != self.State.BUILDING:
            return False
        limit = (
            settings.QS_SQUASH_STALE_SECONDS
            if self.task_id
            else settings.QS_SQUASH_QUEUE_TIMEOUT_SECONDS
        )
        beat = self.heartbeat or self.started
        return timezone.now() - beat > timedelta(seconds=limit)

    @property
    def media_type(self) -> str:
        return {
            "none": "application/x-tar",
            "gzip": "application/gzip",
            "zstd": "application/zstd",
        }[self.compression]


class PullLog(models.Model):
    """An audit record of one squash pull: who, what, how much was sent, from cache or a build.

    Written when the response ends, successful or not; ``complete`` says whether every byte
    promised was sent.
    """

    class Source(models.TextChoices):
        CACHE = "cache", "Cache"
        BUILD = "build", "Build"

    class Kind(models.TextChoices):
        ANONYMOUS = "anonymous", "Anonymous"
        USER = "user", "User"
        ROBOT = "robot", "Robot"

    created = models.DateTimeField(default=timezone.now, db_index=True)
    principal = models.CharField(max_length=255, help_text="User or robot name, or anonymous.")
    principal_kind = models.CharField(max_length=10, choices=Kind.choices)
    repository = models.ForeignKey(
        Repository, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    repository_name = models.CharField(max_length=512)
    tag = models.CharField(max_length=128, blank=True)
    manifest_digest = models.CharField(max_length=200)
    platform = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=8)
    compression = models.CharField(max_length=8)
    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.PositiveSmallIntegerField(help_text="HTTP status sent.")
    bytes_sent = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=False)
    duration = models.FloatField(help_text="Seconds from request to last byte.")
    remote_addr = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.principal} pulled {self.repository_name}:{self.tag or self.manifest_digest}"


# The registry's squashed manifests live in their own module (see squash/pullable.py).
from .pullmodels import SquashedManifest  # noqa: E402, F401

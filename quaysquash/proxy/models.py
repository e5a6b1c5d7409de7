"""Proxy organizations and what they remember about the images pulled through them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from quaysquash.accounts import crypto
from quaysquash.accounts.models import Namespace, Repository

from .upstream import UpstreamClient, UpstreamConfig


class ProxyOrganization(models.Model):
    """An organization bound to one upstream registry: its repositories are pulled through.

    ``<org>/<upstream repository>`` (``hub/library/nginx``) is created on the first pull and
    filled from the upstream; pushes are refused. The upstream password or token is stored
    Fernet-encrypted with ``QS_TOKEN_ENCRYPTION_KEY``, like robot tokens, so a database dump
    alone never reveals it.
    """

    namespace = models.OneToOneField(Namespace, on_delete=models.CASCADE, related_name="proxy")
    upstream_url = models.CharField(
        max_length=500, help_text="Base URL of the upstream registry, e.g. https://ghcr.io"
    )
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(
        default=True, help_text="Verify the upstream's TLS certificate (leave on)."
    )
    ca_bundle = models.CharField(
        max_length=500, blank=True, help_text="Path of a CA bundle to trust for the upstream."
    )
    public_repositories = models.BooleanField(
        default=False, help_text="Repositories created by pulls are public (anonymous pulls)."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "proxy organization"

    def __str__(self) -> str:
        return f"{self.namespace.name} → {self.upstream_url}"

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted) if self.password_encrypted else ""

    def set_password(self, password: str) -> None:
        self.password_encrypted = crypto.encrypt(password) if password else ""

    def config(self) -> UpstreamConfig:
        return UpstreamConfig(
            url=self.upstream_url,
            username=self.username,
            password=self.password,
            verify_tls=self.verify_tls,
            ca_bundle=self.ca_bundle,
            timeout=settings.QS_PROXY_UPSTREAM_TIMEOUT_SECONDS,
        )

    def client(self) -> UpstreamClient:
        return UpstreamClient(self.config())


class ProxyTag(models.Model):
    """What the upstream last said a tag of a proxy repository points at, and when.

    ``checked`` is the last time the upstream confirmed (or moved) the tag: a tag checked less
    than ``QS_PROXY_STALENESS_SECONDS`` ago is served without asking; an older one is checked
    with one ``HEAD``. When the upstream cannot answer, ``checked`` stays as it was, so the
    UI can say how old the cached image is ("cached 12 minutes ago").
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="proxy_tags")
    name = models.CharField(max_length=128)
    upstream_digest = models.CharField(max_length=200)
    checked = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "name"], name="unique_proxy_tag")
        ]

    def __str__(self) -> str:
        return f"{self.repository}:{self.name} → {self.upstream_digest}"


class CachedImage(models.Model):
    """A manifest (image or index) pulled through a proxy repository.

    ``complete`` is set once every blob it needs (all platforms of an index) is in storage;
    ``last_used`` (minute precision) drives expiration: after ``QS_PROXY_EXPIRE_DAYS`` without
    a pull, its tags and manifests are removed, with its squashed images; blobs are left to the
    garbage collector. ``error`` keeps the last failure of fetching its blobs.
    """

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="cached_images"
    )
    digest = models.CharField(max_length=200)
    created = models.DateTimeField(default=timezone.now)
    complete = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(default=timezone.now, db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "digest"], name="unique_cached_image")
        ]

    def __str__(self) -> str:
        return f"{self.repository}@{self.digest}"


class BlobFetch(models.Model):
    """A blob being copied from an upstream into storage right now, by one process.

    The UNIQUE digest makes the copy single-flight across processes and hosts: whoever
    inserts the row copies, everyone else waits for the blob to appear in storage. The owner
    refreshes ``heartbeat`` while copying; a row whose heartbeat is older than
    ``STALE_SECONDS`` belongs to a dead process and is taken over.
    """

    STALE_SECONDS = 60

    digest = models.CharField(max_length=200, unique=True)
    owner = models.CharField(max_length=255, blank=True)
    started = models.DateTimeField(default=timezone.now)
    heartbeat = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.digest

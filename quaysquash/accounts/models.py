"""Namespaces, repositories, robot accounts and repository permissions."""

from __future__ import annotations

import hmac
import secrets
import string
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import crypto
from .names import validate_namespace_name, validate_repository_name, validate_robot_short_name

if TYPE_CHECKING:
    from .principals import Principal

TOKEN_ALPHABET = string.ascii_uppercase + string.digits
TOKEN_LENGTH = 64


class Role(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"


# The roles that allow an action; admin implies write implies read.
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "read": (Role.READ, Role.WRITE, Role.ADMIN),
    "write": (Role.WRITE, Role.ADMIN),
    "admin": (Role.ADMIN,),
}


class NamespaceQuerySet(models.QuerySet):
    def administered_by(self, principal: Principal) -> NamespaceQuerySet:
        """Exactly the namespaces ``principal`` administers: the one definition of a namespace
        admin. A user administers their own namespace and the organizations naming them an
        admin, a superuser every namespace; anonymous callers and robots none."""
        from .principals import is_anonymous

        if is_anonymous(principal) or isinstance(principal, RobotAccount):
            return self.none()
        if principal.is_superuser:
            return self.all()
        named_admin = principal.administered_namespaces.values("pk")
        return self.filter(Q(owner=principal) | Q(pk__in=named_admin))


def optional_link(to, related_name: str, kind: type = models.ForeignKey, **options) -> models.Field:
    """A link that may be empty, deleted with the row it points at."""
    return kind(
        to, null=True, blank=True, on_delete=models.CASCADE, related_name=related_name, **options
    )


class Namespace(models.Model):
    """A user's own namespace or an organization; the first part of every repository name.

    Organization admins have admin on every repository of the organization; members are the
    users who belong to it (they get repository access through explicit permissions).
    """

    class Kind(models.TextChoices):
        USER = "user", "User"
        ORGANIZATION = "org", "Organization"

    name = models.CharField(max_length=255, unique=True, validators=[validate_namespace_name])
    kind = models.CharField(max_length=8, choices=Kind.choices)
    owner = optional_link(
        settings.AUTH_USER_MODEL,
        "own_namespace",
        models.OneToOneField,
        help_text="The user whose namespace this is (user namespaces only).",
    )
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_namespaces"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="member_namespaces"
    )
    created = models.DateTimeField(default=timezone.now)
    robot_token_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Robot tokens expire this many days after they are issued; empty: never.",
    )

    objects = NamespaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_organization(self) -> bool:
        return self.kind == self.Kind.ORGANIZATION

    def is_admin(self, principal: Principal) -> bool:
        """Whether ``principal`` administers this namespace (see ``administered_by``); every
        admin check (pages, API, registry, proxy, Django admin) asks this."""
        return Namespace.objects.administered_by(principal).filter(pk=self.pk).exists()


class RepositoryQuerySet(models.QuerySet):
    def restrict(self, principal: Principal, action: str = "read") -> RepositoryQuerySet:
        """Exactly the repositories ``principal`` may perform ``action`` (read/write/admin) on.

        The one permission query: every view goes through it, so none can forget the check.
        """
        from .principals import is_anonymous

        roles = ACTION_ROLES[action]
        public = Q(is_public=True) if action == "read" else Q(pk__in=[])
        if is_anonymous(principal):
            return self.filter(public)
        if isinstance(principal, RobotAccount):
            granted = Q(
                pk__in=RepositoryPermission.objects.filter(robot=principal, role__in=roles).values(
                    "repository"
                )
            )
            return self.filter(public | granted)
        user = principal
        if user.is_superuser:
            return self.all()
        granted = Q(
            pk__in=RepositoryPermission.objects.filter(user=user, role__in=roles).values(
                "repository"
            )
        )
        owned = Q(namespace__in=Namespace.objects.administered_by(user))
        return self.filter(public | granted | owned).distinct()


class Repository(models.Model):
    """A named image repository inside a namespace: ``<namespace>/<name>``.

    Names may have several segments (``team/tools/cli``). Private unless made public; pushing to
    a new name creates it.
    """

    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="repositories")
    name = models.CharField(max_length=255, validators=[validate_repository_name])
    is_public = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    auto_prime = models.BooleanField(
        default=False, help_text="Build the squashed image of every newly pushed tag."
    )
    created = models.DateTimeField(default=timezone.now)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["namespace__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="unique_repository_name")
        ]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.namespace.name}/{self.name}"


def generate_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


class RobotAccountQuerySet(models.QuerySet):
    def get_by_full_name(self, full_name: str) -> RobotAccount:
        ns, sep, short = full_name.partition("+")
        if not sep:
            raise RobotAccount.DoesNotExist(full_name)
        return self.select_related("namespace").get(namespace__name=ns, short_name=short)


class RobotAccount(models.Model):
    """A non-human account ``<namespace>+<short>`` authenticating with a 64-character token.

    The token is stored encrypted (Fernet, key outside the database) so that a database dump
    does not contain it, while admins can still display it as Quay does.
    """

    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="robots")
    short_name = models.CharField(max_length=255, validators=[validate_robot_short_name])
    description = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    token_encrypted = models.TextField(editable=False)
    token_expires = models.DateTimeField(
        null=True, blank=True, help_text="The token is refused from this moment; empty: never."
    )

    objects = RobotAccountQuerySet.as_manager()

    class Meta:
        ordering = ["namespace__name", "short_name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "short_name"], name="unique_robot_name")
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.namespace.name}+{self.short_name}"

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted)

    def set_token(self, token: str) -> None:
        self.token_encrypted = crypto.encrypt(token)

    def regenerate_token(self, expires: datetime | None | str = "policy") -> str:
        """Replace the token (the old one stops working at once) and return the new one.

        The new token expires at ``expires``, or by default as the namespace's policy says.
        """
        token = generate_token()
        self.set_token(token)
        self.token_expires = (
            default_token_expiry(self.namespace) if expires == "policy" else expires
        )
        self.save(update_fields=["token_encrypted", "token_expires"])
        return token

    def token_expired(self, now: datetime | None = None) -> bool:
        return self.token_expires is not None and self.token_expires <= (now or timezone.now())

    def check_token(self, candidate: str) -> bool:
        try:
            current = self.token
        except ValueError:
            return False
        return hmac.compare_digest(current.encode(), candidate.encode())

    def save(self, *args, **kwargs) -> None:
        if not self.token_encrypted:
            self.set_token(generate_token())
            if self.token_expires is None:
                self.token_expires = default_token_expiry(self.namespace)
        super().save(*args, **kwargs)


def default_token_expiry(namespace: Namespace) -> datetime | None:
    """When a token issued now expires under the namespace's policy (None: never)."""
    if not namespace.robot_token_days:
        return None
    return timezone.now() + timedelta(days=namespace.robot_token_days)


class RepositoryPermission(models.Model):
    """A role (read, write or admin) on one repository for exactly one user or robot."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="permissions")
    user = optional_link(settings.AUTH_USER_MODEL, "repository_permissions")
    robot = optional_link(RobotAccount, "permissions")
    role = models.CharField(max_length=8, choices=Role.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=True) & Q(robot__isnull=False))
                | (Q(user__isnull=False) & Q(robot__isnull=True)),
                name="permission_has_one_principal",
            ),
            models.UniqueConstraint(
                fields=["repository", "user"],
                condition=Q(user__isnull=False),
                name="unique_user_permission",
            ),
            models.UniqueConstraint(
                fields=["repository", "robot"],
                condition=Q(robot__isnull=False),
                name="unique_robot_permission",
            ),
        ]

    def __str__(self) -> str:
        who = self.robot.full_name if self.robot_id else self.user.get_username()
        return f"{who}: {self.role} on {self.repository}"

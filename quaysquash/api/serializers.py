"""Request bodies of the JSON API (response shapes are in schemas.py)."""

from __future__ import annotations

from rest_framework import serializers

from quaysquash.accounts.models import Role
from quaysquash.accounts.names import TAG_RE


class RepositoryUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=["public", "private"], required=False)
    is_public = serializers.BooleanField(required=False)
    auto_prime = serializers.BooleanField(required=False)


class TagUpdateSerializer(serializers.Serializer):
    """Quay's PUT /tag/<tag>: point the tag at a manifest, and/or set its expiration."""

    manifest_digest = serializers.CharField(required=False)
    # Seconds since the epoch, null to remove the expiration (Quay's field name).
    expiration = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class RobotCreateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False, allow_blank=True, default="")
    # Epoch seconds; absent: the organization's policy (if any), null: never (if allowed).
    token_expiration = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)


class TagBulkSerializer(serializers.Serializer):
    """Many tags at once: delete them, or set their expiration (null removes it)."""

    tags = serializers.ListField(
        child=serializers.RegexField(TAG_RE),
        allow_empty=False,
        max_length=10000,
    )
    action = serializers.ChoiceField(choices=["delete", "expiration"])
    expiration = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class TagRestoreSerializer(serializers.Serializer):
    """Quay's POST /tag/<tag>/restore: point the tag back at a manifest from its history."""

    manifest_digest = serializers.CharField()


class RobotTokenSerializer(serializers.Serializer):
    """When a (new) token expires: epoch seconds, null for never, absent for the policy."""

    token_expiration = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class RobotPolicySerializer(serializers.Serializer):
    robot_token_days = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=3650, help_text="null: tokens never expire"
    )

"""Request bodies of the JSON API; responses are Quay-shaped dicts built in the views."""

from __future__ import annotations

from rest_framework import serializers

from quaysquash.accounts.models import Role


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


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)

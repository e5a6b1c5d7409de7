"""Response shapes of the JSON API, for the OpenAPI document (the views build plain dicts in
these shapes; tests check answers against the names declared here)."""

from __future__ import annotations

from rest_framework import serializers as s


class RepositorySchema(s.Serializer):
    namespace = s.CharField()
    name = s.CharField()
    description = s.CharField()
    is_public = s.BooleanField()
    visibility = s.ChoiceField(choices=["public", "private"])
    auto_prime = s.BooleanField()
    kind = s.CharField()
    is_organization = s.BooleanField()
    can_write = s.BooleanField()
    can_admin = s.BooleanField()
    tag_count = s.IntegerField()
    last_modified = s.IntegerField(allow_null=True, help_text="epoch seconds")
    created = s.IntegerField(allow_null=True)


class RepositoryListSchema(s.Serializer):
    repositories = RepositorySchema(many=True)


class PlatformSchema(s.Serializer):
    platform = s.CharField(help_text="os/architecture[/variant]")
    manifest_digest = s.CharField()
    size = s.IntegerField()


class TagSchema(s.Serializer):
    name = s.CharField()
    manifest_digest = s.CharField()
    media_type = s.CharField()
    is_manifest_list = s.BooleanField()
    size = s.IntegerField(help_text="sum of compressed layer sizes (all platforms of an index)")
    last_modified = s.CharField(help_text="HTTP date")
    start_ts = s.IntegerField()
    end_ts = s.IntegerField(allow_null=True)
    expiration = s.CharField(allow_null=True)
    expiration_ts = s.IntegerField(allow_null=True)
    platforms = PlatformSchema(many=True)
    squashable = s.BooleanField(help_text="an image (not another artifact): squash formats apply")
    squashed_pull = s.CharField(
        allow_null=True, help_text="host/squashed/<ns>/<repo>:<tag>; read-only, images only"
    )


class TagListSchema(s.Serializer):
    tags = TagSchema(many=True)
    page = s.IntegerField()
    has_additional = s.BooleanField()
    total = s.IntegerField(required=False)


class TagNamesSchema(s.Serializer):
    tags = s.ListField(child=s.CharField())


class BulkTagsSchema(s.Serializer):
    changed = s.ListField(child=s.CharField())
    missing = s.ListField(child=s.CharField())


class HistoryEventSchema(s.Serializer):
    kind = s.ChoiceField(choices=["created", "moved", "deleted", "expired", "expires"])
    tag = s.CharField()
    time = s.IntegerField()
    manifest_digest = s.CharField()
    old_manifest_digest = s.CharField(allow_null=True)
    message = s.CharField()
    future = s.BooleanField()
    restore_digest = s.CharField(allow_null=True)
    restore_action = s.ChoiceField(choices=["Revert", "Restore"], allow_null=True)
    current_digest = s.CharField(allow_null=True, help_text="where the tag points now")


class HistorySchema(s.Serializer):
    events = HistoryEventSchema(many=True)
    page = s.IntegerField()
    has_additional = s.BooleanField()


class FetchRobotSchema(s.Serializer):
    name = s.CharField()
    can_read = s.BooleanField()


class FetchKubernetesSchema(s.Serializer):
    pod = s.CharField(help_text="YAML of a Pod running the squashed image")
    secret_name = s.CharField(help_text="empty for an anonymous pull")
    secret = s.CharField(help_text="YAML of the pull Secret; empty without the token")
    secret_command = s.CharField(help_text="kubectl create secret docker-registry …")


class FetchCommandSchema(s.Serializer):
    format = s.CharField()
    label = s.CharField()
    platform = s.CharField()
    platforms = s.ListField(child=s.CharField())
    robot = FetchRobotSchema(allow_null=True)
    warning = s.CharField()
    token_included = s.BooleanField()
    command = s.CharField()
    squashed_digest = s.CharField(help_text="squash-pull by=digest: the pinned squashed manifest")
    kubernetes = FetchKubernetesSchema(allow_null=True, help_text="squash-pull only")


class RobotPermissionSchema(s.Serializer):
    repository = s.CharField()
    role = s.CharField()


class RobotSchema(s.Serializer):
    name = s.CharField()
    short_name = s.CharField()
    description = s.CharField()
    created = s.IntegerField(allow_null=True)
    last_accessed = s.IntegerField(allow_null=True)
    token_expires = s.IntegerField(allow_null=True, help_text="epoch seconds; null: never")
    token_expired = s.BooleanField()
    token = s.CharField(required=False, help_text="admins only")
    repositories = s.ListField(child=s.CharField(), required=False)
    permissions = RobotPermissionSchema(many=True, required=False)
    can_read = s.BooleanField(required=False)


class RobotListSchema(s.Serializer):
    robots = RobotSchema(many=True)
    is_admin = s.BooleanField()
    robot_token_days = s.IntegerField(allow_null=True)


class RobotCredentialsSchema(s.Serializer):
    name = s.CharField()
    token = s.CharField()
    token_expires = s.IntegerField(allow_null=True)
    token_expired = s.BooleanField()
    docker_login = s.CharField()
    podman_login = s.CharField()
    docker_config = s.CharField(help_text="text of a config.json")
    docker_config_filename = s.CharField()
    kubernetes_secret = s.CharField(help_text="YAML of a kubernetes.io/dockerconfigjson Secret")
    kubernetes_secret_name = s.CharField()
    kubernetes_secret_filename = s.CharField()
    kubectl_apply = s.CharField()
    kubectl_create_secret = s.CharField()


class RobotPolicySchema(s.Serializer):
    robot_token_days = s.IntegerField(allow_null=True)


class PermissionSchema(s.Serializer):
    name = s.CharField()
    kind = s.ChoiceField(choices=["robot", "user"])
    role = s.CharField()


class PermissionListSchema(s.Serializer):
    permissions = s.DictField(child=PermissionSchema())


class LayerInfoSchema(s.Serializer):
    position = s.IntegerField()
    digest = s.CharField()
    media_type = s.CharField()
    size = s.IntegerField()
    created_by = s.CharField(help_text="the config history step that made the layer")
    created = s.CharField()
    comment = s.CharField()


class ImageInfoSchema(s.Serializer):
    digest = s.CharField()
    media_type = s.CharField()
    config_digest = s.CharField()
    config_media_type = s.CharField()
    is_image = s.BooleanField()
    architecture = s.CharField()
    os = s.CharField()
    created = s.CharField()
    entrypoint = s.ListField(child=s.CharField())
    cmd = s.ListField(child=s.CharField())
    working_dir = s.CharField()
    user = s.CharField()
    env = s.ListField(child=s.CharField())
    labels = s.DictField(child=s.CharField())
    exposed_ports = s.ListField(child=s.CharField())
    layers = LayerInfoSchema(many=True)
    empty_steps = s.ListField(child=s.CharField())
    size = s.IntegerField()


class TagPlatformSchema(s.Serializer):
    platform = s.CharField()
    manifest_digest = s.CharField()


class TagDetailsSchema(s.Serializer):
    name = s.CharField()
    manifest_digest = s.CharField()
    media_type = s.CharField()
    is_manifest_list = s.BooleanField()
    platform = s.CharField(allow_null=True)
    platforms = TagPlatformSchema(many=True)
    image = ImageInfoSchema(allow_null=True)


class LayerSavingsSchema(s.Serializer):
    digest = s.CharField()
    position = s.IntegerField()
    compressed_size = s.IntegerField()
    tar_size = s.IntegerField()
    files = s.IntegerField()
    file_bytes = s.IntegerField()
    deleted_files = s.IntegerField()
    deleted_bytes = s.IntegerField()
    overwritten_files = s.IntegerField()
    overwritten_bytes = s.IntegerField()
    whiteouts = s.IntegerField()
    lost_bytes = s.IntegerField()
    kept_bytes = s.IntegerField()


class SavingsSchema(s.Serializer):
    manifest_digest = s.CharField()
    platform = s.CharField(allow_null=True)
    layers = LayerSavingsSchema(many=True)
    layered_compressed = s.IntegerField()
    layered_tar = s.IntegerField()
    squashed_tar = s.IntegerField()
    squashed_archive = s.IntegerField(allow_null=True)
    squashed_entries = s.IntegerField()
    saved_bytes = s.IntegerField()
    deleted_bytes = s.IntegerField()
    overwritten_bytes = s.IntegerField()
    lost_files = s.IntegerField()

"""Response shapes of the JSON API, for the OpenAPI document (the views build plain dicts in
these shapes; tests check answers against the names declared here).

Every shape is built by :func:`schema` from a field list written like annotations,
``"name:str end_ts:int? tags:[str] labels:{str} platforms:[PlatformSchema] kind:robot|user"``
(``?``: may be null; a type is a scalar, a shape built before or a string's choices), in the
order the document shows them. ``optional`` names the fields an answer may leave out, ``help``
their texts.
"""

from __future__ import annotations

from rest_framework import serializers as s

# The types a field list may name: scalars, and every shape schema() has built.
_TYPES: dict[str, type[s.Field]] = {
    "str": s.CharField,
    "int": s.IntegerField,
    "bool": s.BooleanField,
}


def _field(kind: str, options: dict) -> s.Field:
    if "|" in kind:
        return s.ChoiceField(choices=kind.split("|"), **options)
    if kind.startswith("[") and kind.endswith("]"):
        item = _TYPES[kind[1:-1]]
        if issubclass(item, s.Serializer):
            return item(many=True, **options)
        return s.ListField(child=item(), **options)
    if kind.startswith("{") and kind.endswith("}"):
        return s.DictField(child=_TYPES[kind[1:-1]](), **options)
    return _TYPES[kind](**options)


def schema(
    name: str,
    spec: str,
    *,
    optional: str = "",
    help: dict[str, str] | None = None,
) -> type[s.Serializer]:
    """A serializer class called ``name`` with the fields of ``spec`` (see the module doc)."""
    help = help or {}
    not_required = set(optional.split())
    fields: dict[str, s.Field] = {}
    for item in spec.split():
        field_name, _, kind = item.partition(":")
        options: dict = {}
        if kind.endswith("?"):
            kind, options["allow_null"] = kind[:-1], True
        if field_name in not_required:
            options["required"] = False
        if field_name in help:
            options["help_text"] = help[field_name]
        fields[field_name] = _field(kind, options)
    built = type(name, (s.Serializer,), {"__module__": __name__, **fields})
    _TYPES[name] = built
    return built


RepositorySchema = schema(
    "RepositorySchema",
    "namespace:str name:str description:str is_public:bool visibility:public|private"
    " auto_prime:bool kind:str is_organization:bool can_write:bool can_admin:bool tag_count:int"
    " last_modified:int? created:int?",
    help={"last_modified": "epoch seconds"},
)

RepositoryListSchema = schema("RepositoryListSchema", "repositories:[RepositorySchema]")

PlatformSchema = schema(
    "PlatformSchema",
    "platform:str manifest_digest:str size:int",
    help={"platform": "os/architecture[/variant]"},
)

TagSchema = schema(
    "TagSchema",
    "name:str manifest_digest:str media_type:str is_manifest_list:bool size:int last_modified:str"
    " start_ts:int end_ts:int? expiration:str? expiration_ts:int? platforms:[PlatformSchema]"
    " squashable:bool squashed_pull:str?",
    help={
        "size": "sum of compressed layer sizes (all platforms of an index)",
        "last_modified": "HTTP date",
        "squashable": "an image (not another artifact): squash formats apply",
        "squashed_pull": "host/squashed/<ns>/<repo>:<tag>; read-only, images only",
    },
)

TagListSchema = schema(
    "TagListSchema", "tags:[TagSchema] page:int has_additional:bool total:int", optional="total"
)

TagNamesSchema = schema("TagNamesSchema", "tags:[str]")

BulkTagsSchema = schema("BulkTagsSchema", "changed:[str] missing:[str]")

HistoryEventSchema = schema(
    "HistoryEventSchema",
    "kind:created|moved|deleted|expired|expires tag:str time:int manifest_digest:str"
    " old_manifest_digest:str? message:str future:bool restore_digest:str?"
    " restore_action:Revert|Restore? current_digest:str?",
    help={"current_digest": "where the tag points now"},
)

HistorySchema = schema("HistorySchema", "events:[HistoryEventSchema] page:int has_additional:bool")

FetchRobotSchema = schema("FetchRobotSchema", "name:str can_read:bool")

FetchKubernetesSchema = schema(
    "FetchKubernetesSchema",
    "pod:str secret_name:str secret:str secret_command:str",
    help={
        "pod": "YAML of a Pod running the squashed image",
        "secret_name": "empty for an anonymous pull",
        "secret": "YAML of the pull Secret; empty without the token",
        "secret_command": "kubectl create secret docker-registry …",
    },
)

FetchCommandSchema = schema(
    "FetchCommandSchema",
    "format:str label:str platform:str platforms:[str] robot:FetchRobotSchema? warning:str"
    " token_included:bool command:str squashed_digest:str kubernetes:FetchKubernetesSchema?",
    help={
        "squashed_digest": "squash-pull by=digest: the pinned squashed manifest",
        "kubernetes": "squash-pull only",
    },
)

RobotPermissionSchema = schema("RobotPermissionSchema", "repository:str role:str")

RobotSchema = schema(
    "RobotSchema",
    "name:str short_name:str description:str created:int? last_accessed:int? token_expires:int?"
    " token_expired:bool token:str repositories:[str] permissions:[RobotPermissionSchema]"
    " can_read:bool",
    optional="token repositories permissions can_read",
    help={"token_expires": "epoch seconds; null: never", "token": "admins only"},
)

RobotListSchema = schema(
    "RobotListSchema", "robots:[RobotSchema] is_admin:bool robot_token_days:int?"
)

RobotCredentialsSchema = schema(
    "RobotCredentialsSchema",
    "name:str token:str token_expires:int? token_expired:bool docker_login:str podman_login:str"
    " docker_config:str docker_config_filename:str kubernetes_secret:str"
    " kubernetes_secret_name:str kubernetes_secret_filename:str kubectl_apply:str"
    " kubectl_create_secret:str",
    help={
        "docker_config": "text of a config.json",
        "kubernetes_secret": "YAML of a kubernetes.io/dockerconfigjson Secret",
    },
)

RobotPolicySchema = schema("RobotPolicySchema", "robot_token_days:int?")

PermissionSchema = schema(
    "PermissionSchema",
    "name:str kind:robot|user role:str",
)

PermissionListSchema = schema("PermissionListSchema", "permissions:{PermissionSchema}")

LayerInfoSchema = schema(
    "LayerInfoSchema",
    "position:int digest:str media_type:str size:int created_by:str created:str comment:str",
    help={"created_by": "the config history step that made the layer"},
)

ImageInfoSchema = schema(
    "ImageInfoSchema",
    "digest:str media_type:str config_digest:str config_media_type:str is_image:bool"
    " architecture:str os:str created:str entrypoint:[str] cmd:[str] working_dir:str user:str"
    " env:[str] labels:{str} exposed_ports:[str] layers:[LayerInfoSchema] empty_steps:[str]"
    " size:int",
)

TagPlatformSchema = schema("TagPlatformSchema", "platform:str manifest_digest:str")

TagDetailsSchema = schema(
    "TagDetailsSchema",
    "name:str manifest_digest:str media_type:str is_manifest_list:bool platform:str?"
    " platforms:[TagPlatformSchema] image:ImageInfoSchema?",
)

LayerSavingsSchema = schema(
    "LayerSavingsSchema",
    "digest:str position:int compressed_size:int tar_size:int files:int file_bytes:int"
    " deleted_files:int deleted_bytes:int overwritten_files:int overwritten_bytes:int"
    " whiteouts:int lost_bytes:int kept_bytes:int",
)

SavingsSchema = schema(
    "SavingsSchema",
    "manifest_digest:str platform:str? layers:[LayerSavingsSchema] layered_compressed:int"
    " layered_tar:int squashed_tar:int squashed_archive:int? squashed_entries:int"
    " saved_bytes:int deleted_bytes:int overwritten_bytes:int lost_files:int",
)

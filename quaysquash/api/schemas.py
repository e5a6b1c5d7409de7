"""Response shapes of the JSON API, for the OpenAPI document (the views build plain dicts in
these shapes; tests check answers against the names declared here).

Every shape is built by :func:`schema` from a field list written like annotations,
``"name:str size:int end_ts:int? tags:[str] labels:{str}"`` (``?``: may be null), in the order
the document shows them. A name without a type is a field given as a keyword argument (choices,
nested shapes); ``optional`` names the fields an answer may leave out, ``help`` their texts.
"""

from __future__ import annotations

import copy

from rest_framework import serializers as s

_SCALARS = {"str": s.CharField, "int": s.IntegerField, "bool": s.BooleanField}


def _field(kind: str, options: dict) -> s.Field:
    if kind.startswith("[") and kind.endswith("]"):
        return s.ListField(child=_SCALARS[kind[1:-1]](), **options)
    if kind.startswith("{") and kind.endswith("}"):
        return s.DictField(child=_SCALARS[kind[1:-1]](), **options)
    return _SCALARS[kind](**options)


def schema(
    name: str,
    spec: str,
    *,
    optional: str = "",
    help: dict[str, str] | None = None,
    **given: s.Field,
) -> type[s.Serializer]:
    """A serializer class called ``name`` with the fields of ``spec`` (see the module doc)."""
    help = help or {}
    not_required = set(optional.split())
    fields: dict[str, s.Field] = {}
    for item in spec.split():
        field_name, _, kind = item.partition(":")
        if not kind:
            # A copy is a new field, so it takes its place here: serializers order their
            # fields by creation.
            fields[field_name] = copy.deepcopy(given.pop(field_name))
            continue
        options: dict = {}
        if kind.endswith("?"):
            kind, options["allow_null"] = kind[:-1], True
        if field_name in not_required:
            options["required"] = False
        if field_name in help:
            options["help_text"] = help[field_name]
        fields[field_name] = _field(kind, options)
    if given:
        raise TypeError(f"{name}: fields {sorted(given)} are missing from its spec")
    return type(name, (s.Serializer,), {"__module__": __name__, **fields})


RepositorySchema = schema(
    "RepositorySchema",
    "namespace:str name:str description:str is_public:bool visibility auto_prime:bool kind:str"
    " is_organization:bool can_write:bool can_admin:bool tag_count:int last_modified:int?"
    " created:int?",
    help={"last_modified": "epoch seconds"},
    visibility=s.ChoiceField(choices=["public", "private"]),
)

RepositoryListSchema = schema(
    "RepositoryListSchema", "repositories", repositories=RepositorySchema(many=True)
)

PlatformSchema = schema(
    "PlatformSchema",
    "platform:str manifest_digest:str size:int",
    help={"platform": "os/architecture[/variant]"},
)

TagSchema = schema(
    "TagSchema",
    "name:str manifest_digest:str media_type:str is_manifest_list:bool size:int last_modified:str"
    " start_ts:int end_ts:int? expiration:str? expiration_ts:int? platforms squashable:bool",
    help={
        "size": "sum of compressed layer sizes (all platforms of an index)",
        "last_modified": "HTTP date",
        "squashable": "an image (not another artifact): squash formats apply",
    },
    platforms=PlatformSchema(many=True),
)

TagListSchema = schema(
    "TagListSchema",
    "tags page:int has_additional:bool total:int",
    optional="total",
    tags=TagSchema(many=True),
)

TagNamesSchema = schema("TagNamesSchema", "tags:[str]")

BulkTagsSchema = schema("BulkTagsSchema", "changed:[str] missing:[str]")

HistoryEventSchema = schema(
    "HistoryEventSchema",
    "kind tag:str time:int manifest_digest:str old_manifest_digest:str? message:str future:bool"
    " restore_digest:str? restore_action current_digest:str?",
    help={"current_digest": "where the tag points now"},
    kind=s.ChoiceField(choices=["created", "moved", "deleted", "expired", "expires"]),
    restore_action=s.ChoiceField(choices=["Revert", "Restore"], allow_null=True),
)

HistorySchema = schema(
    "HistorySchema",
    "events page:int has_additional:bool",
    events=HistoryEventSchema(many=True),
)

FetchRobotSchema = schema("FetchRobotSchema", "name:str can_read:bool")

FetchCommandSchema = schema(
    "FetchCommandSchema",
    "format:str label:str platform:str platforms:[str] robot warning:str token_included:bool"
    " command:str",
    robot=FetchRobotSchema(allow_null=True),
)

RobotPermissionSchema = schema("RobotPermissionSchema", "repository:str role:str")

RobotSchema = schema(
    "RobotSchema",
    "name:str short_name:str description:str created:int? last_accessed:int? token_expires:int?"
    " token_expired:bool token:str repositories:[str] permissions can_read:bool",
    optional="token repositories can_read",
    help={"token_expires": "epoch seconds; null: never", "token": "admins only"},
    permissions=RobotPermissionSchema(many=True, required=False),
)

RobotListSchema = schema(
    "RobotListSchema",
    "robots is_admin:bool robot_token_days:int?",
    robots=RobotSchema(many=True),
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
    "name:str kind role:str",
    kind=s.ChoiceField(choices=["robot", "user"]),
)

PermissionListSchema = schema(
    "PermissionListSchema", "permissions", permissions=s.DictField(child=PermissionSchema())
)

LayerInfoSchema = schema(
    "LayerInfoSchema",
    "position:int digest:str media_type:str size:int created_by:str created:str comment:str",
    help={"created_by": "the config history step that made the layer"},
)

ImageInfoSchema = schema(
    "ImageInfoSchema",
    "digest:str media_type:str config_digest:str config_media_type:str is_image:bool"
    " architecture:str os:str created:str entrypoint:[str] cmd:[str] working_dir:str user:str"
    " env:[str] labels:{str} exposed_ports:[str] layers empty_steps:[str] size:int",
    layers=LayerInfoSchema(many=True),
)

TagPlatformSchema = schema("TagPlatformSchema", "platform:str manifest_digest:str")

TagDetailsSchema = schema(
    "TagDetailsSchema",
    "name:str manifest_digest:str media_type:str is_manifest_list:bool platform:str? platforms"
    " image",
    platforms=TagPlatformSchema(many=True),
    image=ImageInfoSchema(allow_null=True),
)

LayerSavingsSchema = schema(
    "LayerSavingsSchema",
    "digest:str position:int compressed_size:int tar_size:int files:int file_bytes:int"
    " deleted_files:int deleted_bytes:int overwritten_files:int overwritten_bytes:int"
    " whiteouts:int lost_bytes:int kept_bytes:int",
)

SavingsSchema = schema(
    "SavingsSchema",
    "manifest_digest:str platform:str? layers layered_compressed:int layered_tar:int"
    " squashed_tar:int squashed_archive:int? squashed_entries:int saved_bytes:int"
    " deleted_bytes:int overwritten_bytes:int lost_files:int",
    layers=LayerSavingsSchema(many=True),
)

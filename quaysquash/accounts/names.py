"""Name rules shared by namespaces, repositories and robots (Quay's and the OCI spec's)."""

import re

from django.core.exceptions import ValidationError

# Namespaces no account may own: ``<scheme>/<ns>/<repo>`` pulls the squashed form of
# ``<ns>/<repo>`` (quaysquash/squash/pullnames.py), its layer compressed as named here.
SQUASHED_SCHEMES = {"squashed": "gzip", "squashed-zstd": "zstd"}
RESERVED_NAMESPACES = frozenset(SQUASHED_SCHEMES)

# The grammars, unanchored: URL converters (quaysquash/core/converters.py) embed them.
NAMESPACE = r"[a-z0-9][a-z0-9._-]{0,254}"
# One path component of a repository name, as the OCI distribution spec allows.
REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
ROBOT_SHORT = r"[a-z][a-z0-9_]{1,254}"

NAMESPACE_RE = re.compile(rf"^{NAMESPACE}$")
REPO_COMPONENT_RE = re.compile(rf"^{REPO_COMPONENT}$")
TAG_RE = re.compile(rf"^{TAG}$")
ROBOT_SHORT_RE = re.compile(rf"^{ROBOT_SHORT}$")


def validate_namespace_name(value: str) -> None:
    if not NAMESPACE_RE.match(value) or "+" in value:
        raise ValidationError(
            f"invalid namespace name {value!r}: use lowercase letters, digits, '.', '_' or '-'"
        )
    if value in RESERVED_NAMESPACES:
        # /v2/squashed/<ns>/<repo> serves squashed images: no account may own that prefix.
        raise ValidationError(f"the namespace name {value!r} is reserved")


def validate_repository_name(value: str) -> None:
    parts = value.split("/")
    if not value or len(value) > 255 or not all(REPO_COMPONENT_RE.match(p) for p in parts):
        raise ValidationError(
            f"invalid repository name {value!r}: lowercase components of letters and digits "
            "separated by '.', '_', '__' or '-', joined by '/'"
        )


def validate_robot_short_name(value: str) -> None:
    if not ROBOT_SHORT_RE.match(value):
        raise ValidationError(f"invalid robot name {value!r}: must match ^[a-z][a-z0-9_]{{1,254}}$")

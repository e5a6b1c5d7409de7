"""The URL grammar of names, tags and digests, as Django path converters.

Registered once (``CoreConfig.ready``) so that every ``urls.py`` says
``<repository:name>`` or ``<tag:tag>`` instead of carrying its own copy of the regular
expressions. The grammars themselves live in ``accounts/names.py`` (names, tags) and
``storage/digests.py`` (digests).
"""

from __future__ import annotations

from django.urls import register_converter

from quaysquash.accounts import names
from quaysquash.storage import digests


class _Converter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class NamespaceConverter(_Converter):
    """A user's or an organization's name."""

    regex = names.NAMESPACE


class RepoConverter(_Converter):
    """A repository's name inside its namespace: one or more components joined by ``/``."""

    regex = rf"{names.REPO_COMPONENT}(?:/{names.REPO_COMPONENT})*"


class RepositoryConverter(_Converter):
    """A full repository name as the registry API sees it: ``<namespace>/<name>``."""

    regex = rf"{names.REPO_COMPONENT}(?:/{names.REPO_COMPONENT})+"


class TagConverter(_Converter):
    regex = names.TAG


class RobotConverter(_Converter):
    """A robot's short name (the part after ``org+``), looser than ``names.ROBOT_SHORT`` so that
    creating one too short is answered by the view (400, with the rule), not a route miss."""

    regex = r"[a-z][a-z0-9_]*"


class SquashedSchemeConverter(_Converter):
    """The reserved namespaces of pullable squashed images (accounts/names.py)."""

    regex = "|".join(sorted(names.SQUASHED_SCHEMES, key=len, reverse=True))


class PermissionKindConverter(_Converter):
    """Whose permissions a permission route lists: robots' or users'."""

    regex = "robot|user"


class DigestConverter(_Converter):
    """Anything shaped like ``<algorithm>:<encoded>``: looser than the grammar on purpose, so
    that the view (not a route miss) answers a malformed or unsupported digest with the
    registry's own error."""

    regex = r"[A-Za-z0-9_+.-]+:[A-Za-z0-9=_-]+"


class AcceptedDigestConverter(_Converter):
    """A digest of an algorithm the registry accepts (sha256, sha512)."""

    regex = digests.DIGEST_RE.pattern.removeprefix("^").removesuffix("$")


def register() -> None:
    for name, converter in {
        "namespace": NamespaceConverter,
        "repo": RepoConverter,
        "repository": RepositoryConverter,
        "tag": TagConverter,
        "robot": RobotConverter,
        "permission_kind": PermissionKindConverter,
        "squashed_scheme": SquashedSchemeConverter,
        "digest": DigestConverter,
        "accepted_digest": AcceptedDigestConverter,
    }.items():
        register_converter(converter, name)

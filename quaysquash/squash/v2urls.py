"""Routes of ``/v2/squashed[-zstd]/<repo>/...``; the registry puts them before its own."""

from django.urls import re_path

from quaysquash.accounts.names import REPO_COMPONENT_RE

from . import v2views

# The spec's repository grammar (names.py) and digest syntax, as regular expressions here so that
# the prefix and the source name can be told apart in one pattern.
COMPONENT = REPO_COMPONENT_RE.pattern.strip("^$")
DIGEST = r"(?P<digest>[A-Za-z0-9_+.-]+:[A-Za-z0-9=_-]+)"
PREFIX = rf"^v2/(?P<scheme>squashed(?:-zstd)?)/(?P<name>{COMPONENT}(?:/{COMPONENT})+)"


def squashed_patterns() -> list:
    return [
        re_path(rf"{PREFIX}/tags/list$", v2views.tags_list, name="squashed-tags"),
        re_path(
            rf"{PREFIX}/manifests/(?P<reference>[^/]+)$",
            v2views.manifest,
            name="squashed-manifest",
        ),
        re_path(rf"{PREFIX}/blobs/{DIGEST}$", v2views.blob, name="squashed-blob"),
        # Uploads, referrers, anything else: refused, never handed to the repository views.
        re_path(rf"{PREFIX}/(?P<rest>.*)$", v2views.read_only),
    ]

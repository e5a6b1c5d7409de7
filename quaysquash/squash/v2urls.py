"""Routes of ``/v2/squashed[-zstd]/<repo>/...``; the registry puts them before its own."""

from django.urls import re_path

from . import v2views


def squashed_patterns(component: str, digest: str) -> list:
    prefix = rf"^v2/(?P<scheme>squashed(?:-zstd)?)/(?P<name>{component}(?:/{component})+)"
    return [
        re_path(rf"{prefix}/tags/list$", v2views.tags_list, name="squashed-tags"),
        re_path(
            rf"{prefix}/manifests/(?P<reference>[^/]+)$",
            v2views.manifest,
            name="squashed-manifest",
        ),
        re_path(rf"{prefix}/blobs/{digest}$", v2views.blob, name="squashed-blob"),
        # Uploads, referrers, anything else: refused, never handed to the repository views.
        re_path(rf"{prefix}/(?P<rest>.*)$", v2views.read_only),
    ]

"""Routes of ``/v2/squashed[-zstd]/<repo>/...``; the registry puts them before its own."""

from django.urls import path

from . import v2views


def squashed_patterns() -> list:
    prefix = "v2/<squashed_scheme:scheme>/<repository:name>"
    return [
        path(f"{prefix}/tags/list", v2views.tags_list, name="squashed-tags"),
        path(f"{prefix}/manifests/<str:reference>", v2views.manifest, name="squashed-manifest"),
        path(f"{prefix}/blobs/<digest:digest>", v2views.blob, name="squashed-blob"),
        # Uploads, referrers, anything else: refused, never handed to the repository views.
        path(f"{prefix}/<path:rest>", v2views.read_only),
    ]

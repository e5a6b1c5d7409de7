"""Routes of the OCI distribution API and its token endpoint.

Repository names contain slashes: the ``repository`` converter (quaysquash/core/converters.py)
is the spec's grammar of path components joined by ``/``.
"""

from django.urls import path, re_path

from quaysquash.squash.v2urls import squashed_patterns

from .views.auth import TokenView
from .views.blobs import BlobView
from .views.listing import CatalogView, TagsListView
from .views.manifests import ManifestView
from .views.referrers import ReferrersView
from .views.root import BaseView, UnknownRouteView
from .views.uploads import UploadStartView, UploadView

urlpatterns = [
    path("v2/", BaseView.as_view(), name="registry-base"),
    path("v2", BaseView.as_view()),
    path("v2/auth", TokenView.as_view(), name="registry-token"),
    path("v2/_catalog", CatalogView.as_view(), name="registry-catalog"),
    # squashed/<repo> and squashed-zstd/<repo>: read-only squashed images (squash/v2views.py).
    *squashed_patterns(),
    path("v2/<repository:name>/tags/list", TagsListView.as_view(), name="registry-tags"),
    # Any reference: the view tells a tag from a digest, and a malformed one from both.
    path(
        "v2/<repository:name>/manifests/<str:reference>",
        ManifestView.as_view(),
        name="registry-manifest",
    ),
    path("v2/<repository:name>/blobs/uploads/", UploadStartView.as_view(), name="registry-uploads"),
    path("v2/<repository:name>/blobs/uploads", UploadStartView.as_view()),
    path(
        "v2/<repository:name>/blobs/uploads/<str:upload_id>",
        UploadView.as_view(),
        name="registry-upload",
    ),
    path("v2/<repository:name>/blobs/<digest:digest>", BlobView.as_view(), name="registry-blob"),
    path(
        "v2/<repository:name>/referrers/<digest:digest>",
        ReferrersView.as_view(),
        name="registry-referrers",
    ),
]

# Anything else under /v2/ answers in the registry's error format, not with an HTML page.
urlpatterns.append(re_path(r"^v2/.+$", UnknownRouteView.as_view()))

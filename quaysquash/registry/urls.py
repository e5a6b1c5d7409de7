"""Routes of the OCI distribution API and its token endpoint.

Repository names contain slashes, hence regular expressions: a name is path components of
lowercase letters and digits joined by ``.``, ``_``, ``__`` or dashes (the spec's grammar).
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

COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
NAME = rf"(?P<name>{COMPONENT}(?:/{COMPONENT})+)"
DIGEST = r"(?P<digest>[A-Za-z0-9_+.-]+:[A-Za-z0-9=_-]+)"

urlpatterns = [
    path("v2/", BaseView.as_view(), name="registry-base"),
    path("v2", BaseView.as_view()),
    path("v2/auth", TokenView.as_view(), name="registry-token"),
    path("v2/_catalog", CatalogView.as_view(), name="registry-catalog"),
    # squashed/<repo> and squashed-zstd/<repo>: read-only squashed images (squash/v2views.py).
    *squashed_patterns(),
    re_path(rf"^v2/{NAME}/tags/list$", TagsListView.as_view(), name="registry-tags"),
    re_path(
        rf"^v2/{NAME}/manifests/(?P<reference>[^/]+)$",
        ManifestView.as_view(),
        name="registry-manifest",
    ),
    re_path(rf"^v2/{NAME}/blobs/uploads/?$", UploadStartView.as_view(), name="registry-uploads"),
    re_path(
        rf"^v2/{NAME}/blobs/uploads/(?P<upload_id>[A-Za-z0-9-]+)$",
        UploadView.as_view(),
        name="registry-upload",
    ),
    re_path(rf"^v2/{NAME}/blobs/{DIGEST}$", BlobView.as_view(), name="registry-blob"),
    re_path(rf"^v2/{NAME}/referrers/{DIGEST}$", ReferrersView.as_view(), name="registry-referrers"),
]

# Anything else under /v2/ answers in the registry's error format, not with an HTML page.
urlpatterns.append(re_path(r"^v2/.+$", UnknownRouteView.as_view()))

"""Quay's /api/v1/ paths (included under api/v1/). Repository names may contain slashes, so the
routes use the name grammar rather than a catch-all: ``.../tag/`` then cannot be a name, and
``tag/history/``, ``tag/names/``, ``tag/bulk/`` (trailing slash) cannot be a tag."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("repository", views.RepositoryListView.as_view(), name="api-repositories"),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/", views.TagListView.as_view(), name="api-tags"
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/names/",
        views.TagNamesView.as_view(),
        name="api-tag-names",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/bulk/",
        views.TagBulkView.as_view(),
        name="api-tag-bulk",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/history/",
        views.TagHistoryView.as_view(),
        name="api-tag-history",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>/restore",
        views.TagRestoreView.as_view(),
        name="api-tag-restore",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>/details",
        views.TagDetailsView.as_view(),
        name="api-tag-details",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>/savings",
        views.TagSavingsView.as_view(),
        name="api-tag-savings",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>/fetch",
        views.FetchCommandView.as_view(),
        name="api-fetch-command",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>",
        views.TagView.as_view(),
        name="api-tag",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/permissions/<permission_kind:kind>/",
        views.PermissionListView.as_view(),
        name="api-permissions",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>/permissions/<permission_kind:kind>/<str:name>",
        views.PermissionView.as_view(),
        name="api-permission",
    ),
    path(
        "repository/<namespace:ns>/<repo:repo>",
        views.RepositoryView.as_view(),
        name="api-repository",
    ),
    path("organization/<namespace:org>/robots", views.RobotListView.as_view(), name="api-robots"),
    path(
        "organization/<namespace:org>/robots/<robot:short>/regenerate",
        views.RobotRegenerateView.as_view(),
        name="api-robot-regenerate",
    ),
    path(
        "organization/<namespace:org>/robots/<robot:short>/credentials",
        views.RobotCredentialsView.as_view(),
        name="api-robot-credentials",
    ),
    path(
        "organization/<namespace:org>/robotpolicy",
        views.RobotPolicyView.as_view(),
        name="api-robot-policy",
    ),
    path(
        "organization/<namespace:org>/robots/<robot:short>",
        views.RobotView.as_view(),
        name="api-robot",
    ),
]

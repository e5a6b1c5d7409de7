"""Quay's /api/v1/ paths (included under api/v1/). Repository names may contain slashes, so the
routes use the name grammar rather than a catch-all: ``.../tag/`` then cannot be a name, and
``tag/history/``, ``tag/names/``, ``tag/bulk/`` (trailing slash) cannot be a tag."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views

NS = r"(?P<ns>[a-z0-9][a-z0-9._-]*)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPO = rf"(?P<repo>{_COMPONENT}(?:/{_COMPONENT})*)"
TAG = r"(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})"
ORG = r"(?P<org>[a-z0-9][a-z0-9._-]*)"
ROBOT = r"(?P<short>[a-z][a-z0-9_]*)"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("repository", views.RepositoryListView.as_view(), name="api-repositories"),
    re_path(rf"^repository/{NS}/{REPO}/tag/$", views.TagListView.as_view(), name="api-tags"),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/names/$", views.TagNamesView.as_view(), name="api-tag-names"
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/bulk/$", views.TagBulkView.as_view(), name="api-tag-bulk"
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/history/$",
        views.TagHistoryView.as_view(),
        name="api-tag-history",
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/{TAG}/restore$",
        views.TagRestoreView.as_view(),
        name="api-tag-restore",
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/{TAG}/details$",
        views.TagDetailsView.as_view(),
        name="api-tag-details",
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/{TAG}/savings$",
        views.TagSavingsView.as_view(),
        name="api-tag-savings",
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/tag/{TAG}/fetch$",
        views.FetchCommandView.as_view(),
        name="api-fetch-command",
    ),
    re_path(rf"^repository/{NS}/{REPO}/tag/{TAG}$", views.TagView.as_view(), name="api-tag"),
    re_path(
        rf"^repository/{NS}/{REPO}/permissions/(?P<kind>robot|user)/$",
        views.PermissionListView.as_view(),
        name="api-permissions",
    ),
    re_path(
        rf"^repository/{NS}/{REPO}/permissions/(?P<kind>robot|user)/(?P<name>[^/]+)$",
        views.PermissionView.as_view(),
        name="api-permission",
    ),
    re_path(rf"^repository/{NS}/{REPO}$", views.RepositoryView.as_view(), name="api-repository"),
    re_path(rf"^organization/{ORG}/robots$", views.RobotListView.as_view(), name="api-robots"),
    re_path(
        rf"^organization/{ORG}/robots/{ROBOT}/regenerate$",
        views.RobotRegenerateView.as_view(),
        name="api-robot-regenerate",
    ),
    re_path(
        rf"^organization/{ORG}/robots/{ROBOT}/credentials$",
        views.RobotCredentialsView.as_view(),
        name="api-robot-credentials",
    ),
    re_path(
        rf"^organization/{ORG}/robotpolicy$",
        views.RobotPolicyView.as_view(),
        name="api-robot-policy",
    ),
    re_path(rf"^organization/{ORG}/robots/{ROBOT}$", views.RobotView.as_view(), name="api-robot"),
]

"""Quay's page URLs; included last, after /v2/, /c1/squash/, /api/v1/ and /admin/."""

from django.urls import path, re_path

from . import tagpage, views

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPO = rf"(?P<repo>{_COMPONENT}(?:/{_COMPONENT})*)"
NS = r"(?P<ns>[a-z0-9][a-z0-9._-]*)"
TAG = r"(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})"

urlpatterns = [
    path("", views.home, name="web-home"),
    path("signin/", views.SignInView.as_view(), name="web-signin"),
    path("signout/", views.SignOutView.as_view(), name="web-signout"),
    path("user/<str:name>", views.user_page, name="web-user"),
    path("organization/<str:org>", views.organization_page, name="web-organization"),
    # Before the repository page: .../tag/<tag> is a tag page, not a repository named "x/tag/y".
    re_path(rf"^repository/{NS}/{REPO}/tag/{TAG}$", tagpage.tag_page, name="web-tag"),
    re_path(rf"^repository/{NS}/{REPO}$", views.repository_page, name="web-repository"),
    re_path(rf"^repository/{NS}/{REPO}/$", views.repository_redirect),
]

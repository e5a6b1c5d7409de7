"""Quay's page URLs; included last, after /v2/, /c1/squash/, /api/v1/ and /admin/."""

from django.urls import path

from . import tagpage, views

urlpatterns = [
    path("", views.home, name="web-home"),
    path("signin/", views.SignInView.as_view(), name="web-signin"),
    path("signout/", views.SignOutView.as_view(), name="web-signout"),
    path("user/<str:name>", views.user_page, name="web-user"),
    path("organization/<str:org>", views.organization_page, name="web-organization"),
    # Before the repository page: .../tag/<tag> is a tag page, not a repository named "x/tag/y".
    path("repository/<namespace:ns>/<repo:repo>/tag/<tag:tag>", tagpage.tag_page, name="web-tag"),
    path("repository/<namespace:ns>/<repo:repo>", views.repository_page, name="web-repository"),
    path("repository/<namespace:ns>/<repo:repo>/", views.repository_redirect),
]

"""Squash routes. A repository name contains slashes: the tag is its last path segment, a
digest follows ``@`` (converters: quaysquash/core/converters.py)."""

from django.urls import path

from . import views

app_name = "squash"
urlpatterns = [
    path(
        "c1/squash/<repository:repository>@<accepted_digest:digest>", views.pull, name="pull-digest"
    ),
    path("c1/squash/<repository:repository>/<tag:tag>", views.pull, name="pull"),
    path(
        "api/v1/repository/<repository:repository>/tag/<tag:tag>/squash",
        views.squash_state,
        name="state",
    ),
]

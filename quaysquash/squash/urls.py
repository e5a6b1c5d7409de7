"""Squash routes. Repository names contain slashes, hence regular expressions: the repository
is everything up to the last ``/`` (tag) or the ``@`` (digest)."""

from django.urls import re_path

from . import views

REPO = r"(?P<repository>[a-z0-9][^@]*?)"
TAG = r"(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
DIGEST = r"(?P<digest>sha256:[a-f0-9]{64})"

app_name = "squash"
urlpatterns = [
    re_path(rf"^c1/squash/{REPO}@{DIGEST}$", views.pull, name="pull-digest"),
    re_path(rf"^c1/squash/{REPO}/{TAG}$", views.pull, name="pull"),
    re_path(rf"^api/v1/repository/{REPO}/tag/{TAG}/squash$", views.squash_state, name="state"),
]

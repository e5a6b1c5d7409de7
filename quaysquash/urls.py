"""URL map: each domain app owns its routes; order matters only for the catch-all web pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("quaysquash.registry.urls")),  # /v2/... and the token endpoint
    path("", include("quaysquash.squash.urls")),  # /c1/squash/... and its priming API
    path("api/v1/", include("quaysquash.api.urls")),
    path("", include("quaysquash.proxy.urls")),  # /organization/<org>/proxy
    path("", include("quaysquash.web.urls")),
]

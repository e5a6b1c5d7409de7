"""Admin pages for proxy organizations: the upstream password is write-only."""

from __future__ import annotations

from django.contrib import admin

from .forms import SETTINGS_FIELDS, UpstreamPasswordForm
from .models import CachedImage, ProxyOrganization, ProxyTag


class ProxyOrganizationForm(UpstreamPasswordForm):
    class Meta(UpstreamPasswordForm.Meta):
        fields = ["namespace", *SETTINGS_FIELDS]


@admin.register(ProxyOrganization)
class ProxyOrganizationAdmin(admin.ModelAdmin):
    form = ProxyOrganizationForm
    list_display = ["namespace", "upstream_url", "username", "verify_tls", "has_password"]
    search_fields = ["namespace__name", "upstream_url"]

    @admin.display(boolean=True, description="password")
    def has_password(self, proxy: ProxyOrganization) -> bool:
        return bool(proxy.password_encrypted)


@admin.register(ProxyTag)
class ProxyTagAdmin(admin.ModelAdmin):
    list_display = ["repository", "name", "upstream_digest", "checked"]
    search_fields = ["repository__name", "name"]
    readonly_fields = ["repository", "name", "upstream_digest", "checked"]


@admin.register(CachedImage)
class CachedImageAdmin(admin.ModelAdmin):
    list_display = ["repository", "digest", "complete", "last_used", "error"]
    search_fields = ["repository__name", "digest"]
    readonly_fields = ["repository", "digest", "created", "complete", "last_used", "error"]

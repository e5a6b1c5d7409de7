"""Admin pages for proxy organizations: the upstream password is write-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from .models import CachedImage, ProxyOrganization, ProxyTag


class ProxyOrganizationForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Password or token for the upstream; leave empty to keep the current one.",
    )
    clear_password = forms.BooleanField(required=False, help_text="Remove the stored password.")

    class Meta:
        model = ProxyOrganization
        fields = [
            "namespace",
            "upstream_url",
            "username",
            "verify_tls",
            "ca_bundle",
            "public_repositories",
        ]

    def save(self, commit: bool = True) -> ProxyOrganization:
        proxy = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            proxy.set_password("")
        elif self.cleaned_data.get("password"):
            proxy.set_password(self.cleaned_data["password"])
        if commit:
            proxy.save()
        return proxy


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

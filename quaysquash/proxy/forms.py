"""The proxy settings forms: the organization page's (admins only) and the Django admin's; the
password is write-only in both."""

from __future__ import annotations

from pathlib import Path

from django import forms

from .models import ProxyOrganization

# What an organization admin may set of its proxy (the Django admin also picks the namespace).
SETTINGS_FIELDS = ["upstream_url", "username", "verify_tls", "ca_bundle", "public_repositories"]


class UpstreamPasswordForm(forms.ModelForm):
    """A proxy organization form whose upstream password is set or cleared, never shown."""

    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Password or token for the upstream; leave empty to keep the stored one.",
    )
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")

    class Meta:
        model = ProxyOrganization
        fields = SETTINGS_FIELDS

    def save(self, commit: bool = True) -> ProxyOrganization:
        proxy = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            proxy.set_password("")
        elif self.cleaned_data.get("password"):
            proxy.set_password(self.cleaned_data["password"])
        if commit:
            proxy.save()
        return proxy


class ProxySettingsForm(UpstreamPasswordForm):
    class Meta(UpstreamPasswordForm.Meta):
        labels = {"upstream_url": "Upstream registry URL", "verify_tls": "Verify TLS"}

    def clean_upstream_url(self) -> str:
        url = self.cleaned_data["upstream_url"].strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise forms.ValidationError("Give a URL such as https://ghcr.io")
        return url

    def clean_ca_bundle(self) -> str:
        path = self.cleaned_data["ca_bundle"].strip()
        if path and not Path(path).is_file():
            raise forms.ValidationError(f"{path} is not a file on the server")
        return path

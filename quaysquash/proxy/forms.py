"""The proxy settings form of the organization page (admins only); the password is write-only."""

from __future__ import annotations

from pathlib import Path

from django import forms

from .models import ProxyOrganization


class ProxySettingsForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Password or token for the upstream; leave empty to keep the stored one.",
    )
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")

    class Meta:
        model = ProxyOrganization
        fields = ["upstream_url", "username", "verify_tls", "ca_bundle", "public_repositories"]
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

    def save(self, commit: bool = True) -> ProxyOrganization:
        proxy = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            proxy.set_password("")
        elif self.cleaned_data.get("password"):
            proxy.set_password(self.cleaned_data["password"])
        if commit:
            proxy.save()
        return proxy

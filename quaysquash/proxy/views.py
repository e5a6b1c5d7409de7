"""``/organization/<org>/proxy``: an organization's upstream (admins set it up or change it)
and, for everyone who may read them, its pulled-through tags with how fresh they are."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from quaysquash.accounts import guards as access
from quaysquash.accounts.models import Repository

from .forms import ProxySettingsForm
from .models import ProxyOrganization, ProxyTag


def proxy_page(request: HttpRequest, org: str) -> HttpResponse:
    namespace = access.namespace_or_404(org)
    if not namespace.is_organization:
        raise PermissionDenied("only organizations can proxy an upstream registry")
    principal = access.principal_of(request)
    is_admin = namespace.is_admin(principal)
    proxy = ProxyOrganization.objects.filter(namespace=namespace).first()
    form = None
    if is_admin:
        if proxy is None and namespace.repositories.exists():
            form = None  # an organization with pushed repositories cannot become a proxy
        else:
            instance = proxy or ProxyOrganization(namespace=namespace)
            form = ProxySettingsForm(request.POST or None, instance=instance)
            if request.method == "POST" and form.is_valid():
                form.save()
                messages.success(request, f"{namespace.name} now pulls through from the upstream.")
                return redirect("proxy-settings", org=namespace.name)
    elif request.method == "POST":
        raise PermissionDenied("only administrators can change the upstream")
    readable = Repository.objects.restrict(principal, "read").filter(namespace=namespace)
    tags = (
        ProxyTag.objects.filter(repository__in=readable)
        .select_related("repository")
        .order_by("repository__name", "name")
        if proxy is not None
        else []
    )
    context = {
        "namespace": namespace,
        "proxy": proxy,
        "form": form,
        "is_admin": is_admin,
        "tags": tags,
        "title": f"{namespace.name} proxy",
    }
    return render(request, "proxy/settings.html", context)

"""Django admin: the power tool for robot accounts and their repository permissions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import render
from django.utils.html import format_html

from . import grants
from .models import Namespace, Repository, RepositoryPermission, RobotAccount, Role

# Named in ``fields``; each request replaces it with its own display function.
TOKEN_FIELD = "token_field"


class RepositoryPermissionInline(admin.TabularInline):
    model = RepositoryPermission
    extra = 0
    autocomplete_fields = ["repository"]
    fields = ["repository", "role"]
    fk_name = "robot"


class RepositoryUserPermissionInline(admin.TabularInline):
    model = RepositoryPermission
    extra = 0
    fields = ["user", "robot", "role"]
    autocomplete_fields = ["user", "robot"]
    verbose_name = "permission"


def can_see_token(request: HttpRequest, robot: RobotAccount | None) -> bool:
    """Superusers and admins of the robot's organization may see its token, nobody else."""
    if robot is None:
        return False
    return robot.namespace.is_admin(request.user)


class GrantReadForm(forms.Form):
    repositories = forms.ModelMultipleChoiceField(
        queryset=Repository.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Only repositories in the robots' own namespaces can be granted.",
    )


@admin.register(RobotAccount)
class RobotAccountAdmin(admin.ModelAdmin):
    list_display = ["full_name", "namespace", "description", "last_used", "created", "perm_count"]
    list_filter = ["namespace", ("last_used", admin.EmptyFieldListFilter), "created"]
    search_fields = ["short_name", "namespace__name", "description"]
    list_select_related = ["namespace"]
    inlines = [RepositoryPermissionInline]
    actions = ["regenerate_tokens", "grant_read"]
    fields = ["namespace", "short_name", "description", "created", "last_used", TOKEN_FIELD]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(perm_total=Count("permissions"))

    @admin.display(description="Permissions", ordering="perm_total")
    def perm_count(self, obj: RobotAccount) -> int:
        return obj.perm_total

    def get_fields(self, request, obj=None):
        return [
            self._token_display(request, obj) if name == TOKEN_FIELD else name
            for name in super().get_fields(request, obj)
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["created", "last_used", self._token_display(request, obj)]
        if obj is not None:
            readonly += ["namespace", "short_name"]
        return readonly

    def _token_display(self, request: HttpRequest, obj: RobotAccount | None):
        """The token column for this request: a function of the robot alone (readonly fields
        get no request), made per request and kept on it, so the one shared ModelAdmin never
        holds who is looking; concurrent requests cannot see each other's decision."""
        key = obj.pk if obj is not None else None
        made: dict = request.__dict__.setdefault("_robot_token_display", {})
        if key not in made:
            visible = can_see_token(request, obj)

            @admin.display(description="Token")
            def token(robot: RobotAccount | None) -> str:
                if robot is None or robot.pk is None:
                    return "generated when saved"
                if not visible:
                    return "hidden: only superusers and organization admins can view it"
                return format_html("<code>{}</code>", robot.token)

            made[key] = token
        return made[key]

    @admin.action(description="Regenerate token of selected robots")
    def regenerate_tokens(self, request, queryset) -> None:
        for robot in queryset.select_related("namespace"):
            robot.regenerate_token()
        self.message_user(
            request, f"Regenerated {queryset.count()} token(s); old tokens stop working now."
        )

    @admin.action(description="Grant read on repositories…")
    def grant_read(self, request, queryset):
        robots = list(queryset.select_related("namespace"))
        namespaces = {r.namespace_id for r in robots}
        form = GrantReadForm(request.POST if "apply" in request.POST else None)
        form.fields["repositories"].queryset = Repository.objects.filter(
            namespace_id__in=namespaces
        ).select_related("namespace")
        if "apply" in request.POST and form.is_valid():
            count = 0
            for robot in robots:
                for repo in form.cleaned_data["repositories"]:
                    if repo.namespace_id == robot.namespace_id:
                        grants.set_role(repo, robot, Role.READ)
                        count += 1
            self.message_user(request, f"Granted read {count} time(s).", messages.SUCCESS)
            return None
        return render(
            request,
            "admin/accounts/grant_read.html",
            {
                **self.admin_site.each_context(request),
                "title": "Grant read on repositories",
                "robots": robots,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(Namespace)
class NamespaceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "owner", "created"]
    list_filter = ["kind"]
    search_fields = ["name"]
    filter_horizontal = ["admins", "members"]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "is_public", "auto_prime", "created"]
    list_filter = ["is_public", "auto_prime", "namespace"]
    search_fields = ["name", "namespace__name"]
    list_select_related = ["namespace"]
    inlines = [RepositoryUserPermissionInline]


@admin.register(RepositoryPermission)
class RepositoryPermissionAdmin(admin.ModelAdmin):
    list_display = ["repository", "user", "robot", "role"]
    list_filter = ["role", "repository__namespace"]
    search_fields = ["repository__name", "user__username", "robot__short_name"]
    autocomplete_fields = ["repository", "user", "robot"]

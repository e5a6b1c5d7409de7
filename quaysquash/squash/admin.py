from django.contrib import admin

from .models import PullLog, SquashedImage


@admin.register(SquashedImage)
class SquashedImageAdmin(admin.ModelAdmin):
    """The squash cache: one row per key, with its build state."""

    list_display = (
        "id",
        "repository",
        "manifest_digest",
        "platform",
        "format",
        "compression",
        "state",
        "size",
        "attempt",
        "last_accessed",
    )
    list_filter = ("state", "format", "compression")
    search_fields = ("repository__name", "repository__namespace__name", "manifest_digest")
    readonly_fields = [f.name for f in SquashedImage._meta.fields]

    def has_add_permission(self, request) -> bool:
        # Rows come from pulls and priming; deleting one is allowed (gc removes its file).
        return False


@admin.register(PullLog)
class PullLogAdmin(admin.ModelAdmin):
    """Read-only: an audit log is written by pulls, never edited."""

    list_display = (
        "created",
        "principal",
        "principal_kind",
        "repository_name",
        "tag",
        "format",
        "compression",
        "source",
        "status",
        "bytes_sent",
        "complete",
        "duration",
    )
    list_filter = ("source", "principal_kind", "format", "compression", "complete", "created")
    search_fields = ("principal", "repository_name", "tag", "manifest_digest")
    date_hierarchy = "created"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

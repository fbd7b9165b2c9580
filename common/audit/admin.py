"""Django admin for the audit log: read-only, since events are written by the services only and never changed."""

from django.contrib import admin

from common.audit.models import AuditEvent
from common.audit.refusals import settle_refusals


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: events are written by the services only, and never changed."""

    list_display = ["created_at", "action", "environment_name", "actor_label", "address", "target", "reason", "count"]
    list_filter = ["action", "actor_type", "reason"]
    search_fields = ["environment_name", "actor_name", "target", "address"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "action",
        "environment",
        "environment_name",
        "actor_type",
        "actor_user",
        "actor_name",
        "address",
        "target",
        "changes",
        "reason",
        "count",
    ]
    readonly_fields = fields

    def changelist_view(self, request, extra_context=None):
        settle_refusals()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Actor", ordering="actor_name")
    def actor_label(self, obj):
        return obj.actor_label

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

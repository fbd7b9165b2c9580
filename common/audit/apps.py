"""App configuration for the audit log."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit log: every app writes to it; it imports none of them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "common.audit"
    label = "audit"
    verbose_name = "Audit log"

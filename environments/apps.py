"""App configuration for environments."""

from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    """Environments, their members, and the access-control system check."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "environments"

    def ready(self):
        """Register the system checks."""
        from environments import checks  # noqa: F401

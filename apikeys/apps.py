"""App configuration for apikeys."""

from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    """Environment API keys."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apikeys"
    verbose_name = "Environment API keys"

    def ready(self):
        """Register the OpenAPI description of the key authentication."""
        from apikeys import schema  # noqa: F401

"""App configuration for apikeys."""

from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    """Environment API keys."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "apikeys"
    verbose_name = "Environment API keys"

    def ready(self):
        """Register the OpenAPI description of the key authentication and the metric of keys by state."""
        from apikeys import schema, selectors  # noqa: F401
        from common import metrics

        metrics.report_key_states(selectors.key_counts_by_state)

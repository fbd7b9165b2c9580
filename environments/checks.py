"""System checks: warn loudly when access control is off."""

from django.conf import settings
from django.core.checks import Warning, register

from environments.selectors import ACCESS_CONTROL_OFF


@register()
def access_control_check(app_configs, **kwargs):
    """Warn when ACCESS_CONTROL is off: the API is then open to anyone who can reach it."""
    if settings.ACCESS_CONTROL:
        return []
    return [
        Warning(
            ACCESS_CONTROL_OFF,
            hint="Set ACCESS_CONTROL=true and give each environment its own API keys.",
            id="envkeys.W001",
        )
    ]

"""System checks: warn loudly when access control is off; refuse unreadable brute-force limits."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from common.access import ACCESS_CONTROL_OFF
from common.limits import parse_rate

FAILURE_RATE_SETTINGS = [
    "AUTH_FAILURE_RATE_PER_ADDRESS",
    "AUTH_FAILURE_RATE_PER_KEY",
    "SIGNIN_FAILURE_RATE_PER_ADDRESS",
    "SIGNIN_FAILURE_RATE_PER_USERNAME",
]


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


@register()
def failure_rates_check(app_configs, **kwargs):
    """Refuse a brute-force limit that is not a rate such as "10/min" or "5/15m"."""
    errors = []
    for name in FAILURE_RATE_SETTINGS:
        try:
            parse_rate(getattr(settings, name))
        except ValueError as exc:
            errors.append(Error(f"{name}: {exc}", hint='Use "<count>/<period>", e.g. "10/min".', id="envkeys.E001"))
    return errors

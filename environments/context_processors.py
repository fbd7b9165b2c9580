"""Template context for every dashboard page: the access-control banner and the environment switcher."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from common.access import ACCESS_CONTROL_OFF
from environments import selectors

# The session key that remembers the environment a person last worked in (its id, nothing else).
CURRENT_ENVIRONMENT = "current_environment"


def current_environment(request):
    """Return the remembered environment if the requester may still see it, else None."""
    environment_id = request.session.get(CURRENT_ENVIRONMENT)
    if not isinstance(environment_id, int):
        return None
    return selectors.visible_environment(actor=request.user, environment_id=environment_id)


def dashboard(request):
    """Add the banner text (when access control is off) and, lazily, the switcher's environments.

    The lazy values cost no query on pages that do not show them (the admin, the browsable API).
    An error page rendered before the authentication middleware ran (a Host that is not in
    ALLOWED_HOSTS is refused by CommonMiddleware) has no user: it gets no switcher.
    """
    if not hasattr(request, "user"):
        return {
            "access_control_off_notice": "" if settings.ACCESS_CONTROL else ACCESS_CONTROL_OFF,
            "switcher_environments": [],
            "current_environment": None,
            "oidc_button_label": "",
        }
    return {
        "access_control_off_notice": "" if settings.ACCESS_CONTROL else ACCESS_CONTROL_OFF,
        "switcher_environments": SimpleLazyObject(
            lambda: list(selectors.environments_visible_to(actor=request.user).order_by("name"))
        ),
        "current_environment": SimpleLazyObject(lambda: current_environment(request)),
        # "Sign in with <label>" on the sign-in page, when an OpenID Connect provider is set up.
        "oidc_button_label": settings.OIDC_BUTTON_LABEL if settings.OIDC_ISSUER else "",
    }

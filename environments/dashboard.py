"""What every dashboard page of an environment starts with: the environment, and what the person may do there."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from environments import selectors
from environments.context_processors import CURRENT_ENVIRONMENT
from environments.models import Role


def load_environment(request, environment_id: int, *, need: str = "view"):
    """Return ``(environment, access)``: 404 if the requester may not see it, 403 if ``need`` is missing.

    The environment becomes the one the session remembers, so the header's switcher and the
    home page follow the person around.
    """
    environment = selectors.visible_environment(actor=request.user, environment_id=environment_id)
    if environment is None:
        raise Http404("No such environment.")
    access = selectors.access_for(actor=request.user, environment=environment)
    if not getattr(access, need):
        raise PermissionDenied
    if request.session.get(CURRENT_ENVIRONMENT) != environment.pk:
        request.session[CURRENT_ENVIRONMENT] = environment.pk
    return environment, access


def role_label(request, role: str | None) -> str:
    """Return the requester's role in an environment as a person reads it."""
    if role:
        return Role(role).label
    if getattr(request.user, "is_superuser", False):
        return "Superuser"
    return "Anyone (access control off)"

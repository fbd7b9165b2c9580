"""Helpers that every dashboard page uses, whichever app it belongs to."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.utils.http import url_has_allowed_host_and_scheme

from common.access import passes_access_control
from common.errors import DomainError


def dashboard_view(view):
    """Send visitors to sign in when access control is on and they are anonymous."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not passes_access_control(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def form_error(form, exc: DomainError, *, fields: dict[str, str] | None = None) -> None:
    """Show a service's refusal next to the field it names (``fields`` renames), else above the form."""
    field = (fields or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def next_or(request, default: str) -> str:
    """Return the posted ``next`` URL when it is a local one, else ``default``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default

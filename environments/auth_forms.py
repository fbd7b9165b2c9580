"""Sign-in forms that say when sign-in is refused for too many failures, and for how long."""

import math

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from environments.backends import sign_in_retry_after, unavailable_provider


class ThrottledSignInMixin:
    """Replace the wrong-password error with "try again in N minutes" when over the limit."""

    def get_invalid_login_error(self):
        """Return the error for a refused sign-in: throttled, or the usual wrong-password one."""
        wait = None if self.request is None else sign_in_retry_after(self.request, self.cleaned_data.get("username"))
        provider = unavailable_provider(self.request)
        if wait is None and provider:
            return ValidationError(
                "%(provider)s cannot be reached right now, so only local accounts can sign in. "
                "Try again later, or tell your administrator.",
                code="provider_unavailable",
                params={"provider": provider[0].upper() + provider[1:]},
            )
        if wait is None:
            return super().get_invalid_login_error()
        minutes = math.ceil(wait / 60)
        message = ngettext(
            "Too many failed sign-ins; try again in %(minutes)d minute.",
            "Too many failed sign-ins; try again in %(minutes)d minutes.",
            minutes,
        )
        return ValidationError(message, code="throttled", params={"minutes": minutes})


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    """The dashboard's sign-in form."""


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    """The admin's sign-in form."""

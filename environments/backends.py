"""Signing in to the dashboard and the admin: Django's ModelBackend behind a limit on failures.

Failures are counted per address and per username from one address (never per username alone,
which would let anyone lock a person out from anywhere). Over either limit the sign-in is refused
before the password is checked, even a correct one, until the window ends.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.views.decorators.debug import sensitive_variables

from common.actor import client_address
from common.limits import FailureLimit, address_ident, text_ident

PER_ADDRESS = FailureLimit(scope="signin-address", setting="SIGNIN_FAILURE_RATE_PER_ADDRESS")
PER_USERNAME_FROM_ADDRESS = FailureLimit(scope="signin-username", setting="SIGNIN_FAILURE_RATE_PER_USERNAME")


def _counted(request, username: str | None) -> list[tuple[FailureLimit, str]]:
    """Return each limit with the identity it counts this sign-in under."""
    address = address_ident(client_address(request))
    return [(PER_ADDRESS, address), (PER_USERNAME_FROM_ADDRESS, f"{address}-{text_ident(username or '')}")]


# Set on the request by a provider's backend that could not reach its server, for the sign-in form.
UNAVAILABLE = "identity_provider_unavailable"


def note_provider_unavailable(request, provider: str) -> None:
    """Remember, for the sign-in form, that ``provider`` (a name people know) could not be reached."""
    if request is not None:
        setattr(request, UNAVAILABLE, provider)


def unavailable_provider(request) -> str | None:
    """Return the provider that could not be reached during this request's sign-in, or None."""
    return getattr(request, UNAVAILABLE, None)


def sign_in_retry_after(request, username: str | None) -> int | None:
    """Return the seconds until this address may try to sign in as ``username`` again, or None."""
    waits = [limit.retry_after() for limit, ident in _counted(request, username) if limit.is_over(ident)]
    return max(waits) if waits else None


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses an address (or an address and username) with too many failures.

    With ``LOCAL_ACCOUNTS`` off, only superusers sign in with a local password (break-glass), and
    the sessions of other local accounts end.
    """

    def user_can_authenticate(self, user):
        """Return whether the user may use a local account: active, and a superuser when local accounts are off."""
        return super().user_can_authenticate(user) and (settings.LOCAL_ACCOUNTS or user.is_superuser)

    # Hides the password in error reports from this frame and the ModelBackend frames below it.
    @sensitive_variables("password", "raw_password")
    def authenticate(self, request, username=None, password=None, **kwargs):
        """Return the user, None on a wrong password (counted), or raise PermissionDenied if over a limit."""
        if request is None:
            # No client to count against (the test client's login(), scripts).
            return super().authenticate(request, username=username, password=password, **kwargs)
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if sign_in_retry_after(request, username) is not None:
            raise PermissionDenied("Too many failed sign-ins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            for limit, ident in _counted(request, username):
                limit.record(ident)
        return user

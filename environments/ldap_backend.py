"""Sign-in against an LDAP directory or Active Directory (django-auth-ldap), with roles from its groups.

Listed before ``ThrottledModelBackend`` in ``AUTHENTICATION_BACKENDS`` when ``LDAP_SERVER_URI`` is
set. It refuses an address over the sign-in limits before asking the directory; a wrong password
falls through to the model backend, which counts it, so the limits cover both. A directory that
cannot be reached is noted on the request for the sign-in page, and local accounts (the
break-glass superuser) still sign in.
"""

import logging

import ldap
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.views.decorators.debug import sensitive_variables
from django_auth_ldap.backend import LDAPBackend, ldap_error

from common.actor import client_address
from environments import services
from environments.backends import note_provider_unavailable, sign_in_retry_after

logger = logging.getLogger(__name__)

PROVIDER = "ldap"
LABEL = "the LDAP directory"


def group_names(ldap_user) -> list[str]:
    """Return the names of the user's groups: from the group search, or the CNs of ``memberOf``."""
    if settings.LDAP_GROUP_TYPE == "memberOf":
        names = []
        for dn in ldap_user.attrs.get("memberof", []):
            rdn = ldap.dn.str2dn(dn)[0]
            names += [value for attr, value, _ in rdn if attr.lower() == "cn"]
        return sorted(names)
    return sorted(ldap_user.group_names)


class ThrottledLDAPBackend(LDAPBackend):
    """django-auth-ldap's backend behind the sign-in limits, recomputing roles from groups at each sign-in."""

    @sensitive_variables("password")
    def authenticate(self, request, username=None, password=None, **kwargs):
        """Return the user signed in through LDAP, None otherwise, or raise PermissionDenied over a limit."""
        if request is not None and sign_in_retry_after(request, username) is not None:
            raise PermissionDenied("Too many failed sign-ins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        if user.has_usable_password():
            # A local account (the break-glass superuser): the directory never signs in as it.
            logger.warning("LDAP sign-in refused: %r is a local account with a password.", user.get_username())
            return None
        try:
            groups = group_names(user.ldap_user)
        except ldap.LDAPError:
            # Signed in, but the groups are unknown: refuse rather than keep roles that may be stale.
            note_provider_unavailable(request, LABEL)
            return None
        services.sign_in_from_provider(
            user=user, provider=PROVIDER, groups=groups, address=client_address(request) if request else ""
        )
        return user


def _directory_unreachable(sender, context, user, request, exception, **kwargs):
    """Note on the request that the directory failed, so the sign-in page can say so."""
    note_provider_unavailable(request, LABEL)


ldap_error.connect(_directory_unreachable, sender=ThrottledLDAPBackend, dispatch_uid="envkeys-ldap-unreachable")

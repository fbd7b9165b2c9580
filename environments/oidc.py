"""Sign-in through an OpenID Connect provider (mozilla-django-oidc), with roles from its groups claim.

The authorization code flow with PKCE. The provider's endpoints come from its discovery document
(``OIDC_ISSUER`` + ``/.well-known/openid-configuration``), fetched when first needed and kept in
the cache for an hour, so a provider that is down never stops envkeys from starting or local
accounts from signing in: the sign-in page says the provider cannot be reached instead.
"""

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from common.actor import client_address
from environments import services
from environments.backends import note_provider_unavailable, unavailable_provider

logger = logging.getLogger(__name__)

PROVIDER = "oidc"
DISCOVERY_CACHE_SECONDS = 3600
# mozilla-django-oidc's endpoint settings, and the discovery document's names for them.
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be fetched, or does not describe this issuer."""


def provider_label() -> str:
    """Return the provider's name as the sign-in page shows it."""
    return settings.OIDC_BUTTON_LABEL


def discovery() -> dict:
    """Return the provider's discovery document, from the cache or fetched now."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = f"oidc-discovery:{issuer}"
    document = cache.get(key)
    if document is not None:
        return document
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OpenID Connect discovery failed for %s: %s", issuer, exc)
        raise ProviderUnavailable(str(exc)) from exc
    if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != issuer:
        logger.warning("OpenID Connect discovery at %s names another issuer: %r", issuer, document.get("issuer"))
        raise ProviderUnavailable("the discovery document names another issuer")
    cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def provider_setting(attr, *args):
    """Return a mozilla-django-oidc setting: the endpoints from discovery, the rest from settings."""
    if attr in ENDPOINTS:
        return discovery()[ENDPOINTS[attr]]
    return import_from_settings(attr, *args)


def _sign_in_page() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("login"))


def _unavailable_message() -> str:
    return (
        f"{provider_label()} cannot be reached right now, so only local accounts can sign in. "
        "Try again later, or tell your administrator."
    )


class SignInRequestView(OIDCAuthenticationRequestView):
    """Send the browser to the provider (state, nonce and the PKCE challenge kept in the session)."""

    get_settings = staticmethod(provider_setting)

    def __init__(self, *args, **kwargs):
        # The parent reads the authorization endpoint here: discovery runs now, per request.
        self.unavailable = False
        try:
            super().__init__(*args, **kwargs)
        except ProviderUnavailable:
            View.__init__(self, *args, **kwargs)
            self.unavailable = True

    def get(self, request):
        """Redirect to the provider, or back to the sign-in page saying it cannot be reached."""
        if not settings.OIDC_ISSUER:
            raise Http404("OpenID Connect sign-in is not configured.")
        if self.unavailable:
            messages.error(request, _unavailable_message())
            return _sign_in_page()
        return super().get(request)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: sign in, or back to the sign-in page with the reason."""

    get_settings = staticmethod(provider_setting)

    def get(self, request):
        """Finish the sign-in; a replayed or forged state is refused like any failure, never a 500."""
        if not settings.OIDC_ISSUER:
            raise Http404("OpenID Connect sign-in is not configured.")
        try:
            return super().get(request)
        except SuspiciousOperation:
            return self.login_failure()

    def login_failure(self):
        """Go back to the sign-in page with a message that says why."""
        if unavailable_provider(self.request):
            messages.error(self.request, _unavailable_message())
        else:
            messages.error(self.request, f"Signing in with {provider_label()} did not complete. Try again.")
        return _sign_in_page()


class GroupsOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend: people by the username claim, roles from the groups claim."""

    get_settings = staticmethod(provider_setting)

    def __init__(self, *args, **kwargs):
        # Every sign-in builds every backend: resolve the provider only when it is this one's turn.
        self.UserModel = get_user_model()
        self._claims = {}

    def authenticate(self, request, **kwargs):
        """Return the user the provider vouches for, or None (the provider down is noted for the page)."""
        if request is None or "nonce" not in kwargs or not settings.OIDC_ISSUER:
            return None  # not the callback of an OpenID Connect sign-in
        try:
            self.OIDC_OP_TOKEN_ENDPOINT = provider_setting("OIDC_OP_TOKEN_ENDPOINT")
            self.OIDC_OP_USER_ENDPOINT = provider_setting("OIDC_OP_USER_ENDPOINT")
            self.OIDC_OP_JWKS_ENDPOINT = provider_setting("OIDC_OP_JWKS_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
            self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
            self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
            self.OIDC_RP_IDP_SIGN_KEY = None
            user = super().authenticate(request, **kwargs)
        except (ProviderUnavailable, requests.RequestException) as exc:
            logger.warning("OpenID Connect sign-in failed: %s", exc)
            note_provider_unavailable(request, provider_label())
            return None
        if user is None:
            return None
        if user.has_usable_password():
            # A local account (the break-glass superuser): the provider never signs in as it.
            logger.warning("OpenID Connect sign-in refused: %r is a local account with a password.", user.username)
            return None
        claim = self._claims.get(settings.OIDC_GROUPS_CLAIM, [])
        groups = [claim] if isinstance(claim, str) else [str(group) for group in claim or []]
        services.sign_in_from_provider(user=user, provider=PROVIDER, groups=groups, address=client_address(request))
        return user

    def get_userinfo(self, access_token, id_token, payload):
        """Return the claims of the ID token and the userinfo endpoint together (userinfo wins)."""
        self._claims = {**payload, **super().get_userinfo(access_token, id_token, payload)}
        return self._claims

    def verify_claims(self, claims):
        """Accept only claims that name the person."""
        return bool(claims.get(settings.OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims):
        """Return the user whose username is the username claim."""
        return self.UserModel.objects.filter(username=claims[settings.OIDC_USERNAME_CLAIM])

    def create_user(self, claims):
        """Create the person's account, with no password: they sign in through the provider."""
        return self.UserModel.objects.create_user(
            claims[settings.OIDC_USERNAME_CLAIM], email=claims.get("email", ""), password=None
        )

    def update_user(self, user, claims):
        """Keep the e-mail address the provider gives."""
        email = claims.get("email", "")
        if email and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        return user

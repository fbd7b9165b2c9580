"""HTTP Basic authentication with an environment API key (access key : secret key)."""

import base64
import binascii

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from apikeys import services, throttling
from apikeys.models import ApiKey
from config.client import client_address
from environments import audit
from environments.exceptions import DomainError

REALM = "envkeys"


class ApiKeyUser:
    """The principal behind a request made with an environment API key.

    It is not a database user: a key belongs to an environment, not to a person, and may act only
    within that environment. ``request.user`` is this object and ``request.auth`` is the key.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.username = api_key.access_key

    def __str__(self):
        return f"API key {self.api_key.access_key}"

    def get_username(self) -> str:
        """Return the access key, which is the username of the key pair."""
        return self.username

    def has_perm(self, perm, obj=None) -> bool:
        """Return False: a key has no Django model permissions."""
        return False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate ``Authorization: Basic base64(ACCESS_KEY:SECRET_KEY)``.

    For example ``curl -u EKABCDEFGH0123456789:envk...`` sends::

        Authorization: Basic RUtBQkNERUZHSDAxMjM0NTY3ODk6ZW52ay4uLg==

    Requests without that header are left to the next authentication class. A wrong or unknown
    pair gets one generic message; only once the secret has verified does the message say that the
    key is inactive or expired. Failures count towards the brute-force limits of
    ``apikeys.throttling``; over a limit the answer is 429 and no secret is checked.
    """

    @sensitive_variables("header", "credentials", "secret")
    def authenticate(self, request):
        """Return ``(ApiKeyUser, key)``, None when Basic is not used, or raise AuthenticationFailed."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            access_key, secret = self._decode(credentials.strip())
        except exceptions.AuthenticationFailed as exc:
            throttling.record_failure(request, access_key=None, code=exc.get_codes())
            raise
        throttling.refuse_if_over_limit(request, access_key=access_key)
        try:
            key = services.authenticate_api_key(access_key=access_key, secret=secret)
        except DomainError as exc:
            throttling.record_failure(request, access_key=access_key, code=exc.code)
            audit.record_refused_authentication(access_key=access_key, address=client_address(request), reason=exc.code)
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        self.enforce_same_origin(request)
        return ApiKeyUser(key), key

    def enforce_same_origin(self, request):
        """Refuse a change sent with key credentials by a page of another site.

        A browser that was given the key pair at the Basic prompt sends it again with every request
        to this server, cross-site form posts included: the same risk that CSRF tokens answer for
        sessions (DRF's SessionAuthentication enforces CSRF in the same place). Browsers say where
        a request comes from (``Sec-Fetch-Site``, ``Origin``); curl and scripts send neither.
        """
        if request.method in SAFE_METHODS:
            return
        fetch_site = request.META.get("HTTP_SEC_FETCH_SITE", "")
        origin = request.META.get("HTTP_ORIGIN")
        own_origin = f"{request.scheme}://{request.get_host()}"
        if fetch_site in ("cross-site", "same-site") or (
            origin is not None and origin != own_origin and origin not in settings.CSRF_TRUSTED_ORIGINS
        ):
            raise exceptions.PermissionDenied(
                "Changes sent with key credentials from another site's page are refused.", code="cross_site_request"
            )

    def authenticate_header(self, request):
        """Return the challenge that makes a browser or client ask for the key pair."""
        return f'Basic realm="{REALM}", charset="UTF-8"'

    @staticmethod
    @sensitive_variables("credentials", "decoded", "secret")
    def _decode(credentials: str) -> tuple[str, str]:
        if not credentials or " " in credentials:
            raise exceptions.AuthenticationFailed("Invalid Basic header: expected one base64 credential.")
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise exceptions.AuthenticationFailed("Invalid Basic header: credentials are not valid base64.") from None
        access_key, colon, secret = decoded.partition(":")
        if not colon:
            raise exceptions.AuthenticationFailed("Invalid Basic header: expected ACCESS_KEY:SECRET_KEY.")
        return access_key, secret

"""HTTP Basic authentication with an environment API key (access key : secret key)."""

import base64
import binascii
import functools

from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from apikeys import forward_auth, limits, selectors, usage
from apikeys.crypto import is_well_formed_access_key
from apikeys.models import ApiKey
from common import metrics, requestlog
from common.actor import client_address
from common.audit.refusals import count_refusal
from environments.models import Environment


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


class ApiKeyAuthentication(authentication.BasicAuthentication):
    """Authenticate ``Authorization: Basic base64(ACCESS_KEY:SECRET_KEY)``.

    For example ``curl -u EKABCDEFGH0123456789:envk...`` sends::

        Authorization: Basic RUtBQkNERUZHSDAxMjM0NTY3ODk6ZW52ay4uLg==

    Requests without that header are left to the next authentication class. A wrong or unknown
    pair gets one generic message; only once the secret has verified does the message say that
    the key is inactive or expired. Failures count towards the brute-force limits of
    ``apikeys.limits``: over a limit the answer is 429 and no secret is checked. Refusals are
    summarised in the audit log.

    ``authenticate()`` reads the header itself rather than through DRF's, so that every frame
    that holds the credentials is marked sensitive and error reports never show them.
    """

    www_authenticate_realm = "envkeys"

    @sensitive_variables("header", "credentials", "secret")
    def authenticate(self, request):
        """Return ``(ApiKeyUser, key)``, None when Basic is not used, or raise AuthenticationFailed."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            access_key, secret = _decode(credentials.strip())
        except exceptions.AuthenticationFailed as exc:
            # A Basic header that cannot be read as ACCESS_KEY:SECRET_KEY: a failure like any other.
            try:
                limits.record_failure(address=client_address(request), access_key=None, code=exc.get_codes())
            except exceptions.Throttled:
                metrics.count_key_authentication("throttled")
                raise
            metrics.count_key_authentication("authentication_failed")
            raise
        return self.authenticate_credentials(access_key, secret, request)

    @sensitive_variables("password")
    def authenticate_credentials(self, userid, password, request=None):
        """Return ``(ApiKeyUser, key)`` for a usable key pair, or raise AuthenticationFailed (or Throttled)."""
        address = client_address(request)
        well_formed = is_well_formed_access_key(userid)
        if well_formed:
            requestlog.note_access_key(userid)
        try:
            limits.refuse_if_over_limit(address=address, access_key=userid)
        except exceptions.Throttled:
            metrics.count_key_authentication("throttled")
            raise
        try:
            key = usage.authenticate_api_key(access_key=userid, secret=password)
        except usage.KeyRefused as exc:
            try:
                limits.record_failure(address=address, access_key=userid, code=exc.code)
            except exceptions.Throttled:
                # This failure put the address or key over a limit: the answer is 429.
                metrics.count_key_authentication("throttled")
                raise
            metrics.count_key_authentication(exc.code)
            count_refusal(
                access_key=userid if well_formed else "",
                address=address,
                reason=exc.code,
                find_environment=functools.partial(_environment_of, exc.key, userid if well_formed else ""),
                forwarded=self.forwarded_to(request),
            )
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        metrics.count_key_authentication("success")
        self.enforce_same_origin(request)
        return ApiKeyUser(key), key

    def enforce_same_origin(self, request):
        """Refuse a change sent with key credentials by a page of another site.

        A browser that was given the key pair at the Basic prompt sends it again with every request
        to this server, cross-site form posts included: the same risk that CSRF tokens answer for
        sessions (DRF's SessionAuthentication enforces CSRF in the same place). Browsers say where
        a request comes from (``Sec-Fetch-Site``, ``Origin``); curl and scripts send neither.
        """
        method, own_origin = self.method_and_origin(request)
        if method in SAFE_METHODS:
            return
        fetch_site = request.META.get("HTTP_SEC_FETCH_SITE", "")
        origin = request.META.get("HTTP_ORIGIN")
        if fetch_site in ("cross-site", "same-site") or (
            origin is not None and origin != own_origin and origin not in settings.CSRF_TRUSTED_ORIGINS
        ):
            raise exceptions.PermissionDenied(
                "Changes sent with key credentials from another site's page are refused.", code="cross_site_request"
            )

    def method_and_origin(self, request) -> tuple[str, str]:
        """Return the method of the request the key is sent with, and the origin it is sent to: this server's."""
        return request.method, f"{request.scheme}://{request.get_host()}"

    def forwarded_to(self, request) -> dict | None:
        """Return where a refused request was going, for its refusal summary: nowhere else but here (None)."""
        return None

    def authenticate_header(self, request):
        """Return the challenge that makes a browser or client ask for the key pair."""
        return f'{super().authenticate_header(request)}, charset="UTF-8"'


class ForwardedApiKeyAuthentication(ApiKeyAuthentication):
    """The key pair of a request that a reverse proxy holds, sent to envkeys' authorize endpoint.

    The same check as ``ApiKeyAuthentication`` (the same ``Authorization: Basic ...`` header, limits,
    last-used write and refusal summaries), except that the request in question is the one the
    proxy describes (``apikeys.forward_auth.forwarded_request``): a change sent to the protected
    service by another site's page is refused, and a refusal's summary names the forwarded host and
    path.
    """

    def method_and_origin(self, request) -> tuple[str, str]:
        """Return the forwarded method and the protected service's origin."""
        target = forward_auth.forwarded_request(request)
        return target.method, target.origin

    def forwarded_to(self, request) -> dict | None:
        """Return the forwarded host and path (without the query string)."""
        target = forward_auth.forwarded_request(request)
        return {"host": target.host, "path": target.path}


@sensitive_variables("credentials", "decoded", "secret")
def _decode(credentials: str) -> tuple[str, str]:
    """Return ``(access_key, secret)`` from the base64 part of a Basic header, or raise AuthenticationFailed."""
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


def _environment_of(key: ApiKey | None, access_key: str) -> Environment | None:
    """Return the environment a refused attempt was aimed at: the checked key's, or the access key's."""
    if key is not None:
        return key.environment
    return selectors.environment_of_access_key(access_key) if access_key else None

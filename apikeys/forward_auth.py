"""Forward authentication: whether a request that a reverse proxy holds may go on to the service behind it.

nginx (``auth_request``), Caddy (``forward_auth``) and Traefik (``ForwardAuth``) ask envkeys
before they pass a request to a service: they send the client's ``Authorization`` header and say
where the request was going. This module reads that (``forwarded_request``), makes the decision
(``decide``, the one place the rule is written; ``authorize`` also summarises its refusals) and
names the headers the proxy copies to the service (``identity_headers``). The key pair itself is
checked on the usual path (``apikeys.authentication``), so limits, last-used writes and refusal
summaries are the API's.
"""

import base64
import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string

from apikeys.models import ApiKey
from common.actor import api_key_of
from common.audit.refusals import count_refusal
from common.errors import DomainError
from environments.models import Environment

# The headers a proxy copies to the upstream when a request is allowed. A proxy must clear any
# header of this prefix that the client sent (see docs/forward-auth.md).
HEADER_PREFIX = "X-Envkeys-"
ENVIRONMENT_ID = "X-Envkeys-Environment-Id"
ENVIRONMENT = "X-Envkeys-Environment"
ACCESS_KEY = "X-Envkeys-Access-Key"
PERMISSION = "X-Envkeys-Permission"
ACCESS_CONTROL = "X-Envkeys-Access-Control"
IDENTITY_HEADERS = (ENVIRONMENT_ID, ENVIRONMENT, ACCESS_KEY, PERMISSION)

# Methods that only read: a read-only key may send these and no other.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The longest forwarded path kept in a refusal summary (the audit log is no place for long URLs).
_PATH_KEPT = 200


@dataclass(frozen=True)
class Forwarded:
    """Where the request that the proxy holds was going: its method, scheme, host and path."""

    method: str
    proto: str
    host: str
    uri: str

    @property
    def origin(self) -> str:
        """Return ``proto://host`` of the protected service, as a browser's ``Origin`` header names it."""
        return f"{self.proto}://{self.host}"

    @property
    def path(self) -> str:
        """Return the path without its query string (which may hold tokens), cut to a readable length."""
        return urlsplit(self.uri).path[:_PATH_KEPT]


def forwarded_request(request) -> Forwarded:
    """Return where the proxy says the request was going, falling back on this request's own values.

    Caddy and Traefik send ``X-Forwarded-Method``, ``X-Forwarded-Uri``, ``X-Forwarded-Host`` and
    ``X-Forwarded-Proto``; nginx's convention is ``X-Original-Method`` and ``X-Original-URI``. A
    proxy sets the headers of its own convention, but may pass on a client's header of the other
    one: where the two methods differ, the one that changes something is the method, so that a
    client's forged ``GET`` never lets a read-only key write.
    """
    meta = request.META
    methods = [
        value.strip().upper()
        for value in (meta.get("HTTP_X_FORWARDED_METHOD"), meta.get("HTTP_X_ORIGINAL_METHOD"))
        if value and value.strip()
    ]
    changing = [method for method in methods if method not in READING_METHODS]
    method = (changing or methods or [request.method])[0]
    uri = meta.get("HTTP_X_FORWARDED_URI") or meta.get("HTTP_X_ORIGINAL_URI") or request.get_full_path()
    host = meta.get("HTTP_X_FORWARDED_HOST") or request.get_host()
    proto = meta.get("HTTP_X_FORWARDED_PROTO") or request.scheme
    return Forwarded(method=method, proto=proto.strip().lower(), host=host.strip(), uri=uri.strip())


@dataclass(frozen=True)
class Grant:
    """An allowed request: the key that allowed it, or None when access control is off."""

    key: ApiKey | None


def authorize(*, actor, environment_id: int | None, target: Forwarded, address: str) -> Grant:
    """Return the grant for the ``target`` request to a service of ``environment_id``, or raise DomainError.

    ``decide`` makes the decision. A usable key that it refuses (another environment's, or a
    read-only key with a changing method) is summarised in the audit log like a refused
    authentication: in the environment the request was for, with the forwarded host and path, so
    that its owners see a key of another environment knocking. It is no guess at a secret, so it
    does not count towards the brute-force limits.
    """
    try:
        return decide(actor=actor, environment_id=environment_id, method=target.method)
    except DomainError as exc:
        key = api_key_of(actor)
        if key is not None:
            count_refusal(
                access_key=key.access_key,
                address=address,
                reason=exc.code,
                find_environment=functools.partial(_environment_asked_for, key, environment_id),
                forwarded={"host": target.host, "path": target.path},
            )
        raise


def _environment_asked_for(key: ApiKey, environment_id: int | None) -> Environment | None:
    """Return the environment a refused request was for: the one in the URL, else the key's own."""
    if environment_id is None or environment_id == key.environment_id:
        return key.environment
    return Environment.objects.filter(pk=environment_id).first()


def decide(*, actor, environment_id: int | None, method: str) -> Grant:
    """Return the grant for a ``method`` request to a service of environment ``environment_id``, or raise DomainError.

    ``environment_id`` None stands for a service shared by several environments: any usable key
    passes. With access control off everyone passes. Otherwise ``actor`` is the principal of a key
    that has authenticated already (active, unexpired); it passes for a service of its own
    environment, and a read-only key only with a method that reads. A request with no key at all
    never gets here: access control answers it 401 first.
    """
    if not settings.ACCESS_CONTROL:
        return Grant(key=None)
    key = api_key_of(actor)
    if key is None:
        raise DomainError("Authentication credentials were not provided.", code="not_authenticated")
    if environment_id is not None and key.environment_id != environment_id:
        raise DomainError("This API key belongs to another environment.", code="wrong_environment")
    if method not in READING_METHODS and not key.can_write:
        raise DomainError(f"This API key is read-only: {method} requests are refused.", code="permission_denied")
    return Grant(key=key)


def identity_headers(grant: Grant) -> dict[str, str]:
    """Return the headers that tell the upstream who was allowed: the key's environment, access key and permission.

    All five are always sent, empty when they do not apply (no key with access control off): a
    proxy that copies a header absent from the answer may pass on something else in its place
    (Caddy 2.6 passes its unreplaced placeholder); an empty one it leaves empty or drops.
    """
    if grant.key is None:
        return {**dict.fromkeys(IDENTITY_HEADERS, ""), ACCESS_CONTROL: "off"}
    key = grant.key
    return {
        ENVIRONMENT_ID: str(key.environment_id),
        ENVIRONMENT: _header_text(key.environment.name),
        ACCESS_KEY: key.access_key,
        PERMISSION: key.permission,
        ACCESS_CONTROL: "on",
    }


def _header_text(text: str) -> str:
    """Return ``text`` as a header value that decodes to exactly ``text``.

    Printable ASCII is sent as it is; anything else, and any text that could itself be read as an
    RFC 2047 encoded word (it holds "=?"), is sent as one base64 encoded word. Otherwise an
    environment named "=?utf-8?b?ZGVtbw==?=" would decode to "demo", another environment's name.
    """
    if text.isascii() and text.isprintable() and "=?" not in text:
        return text
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode("ascii") + "?="


# The placeholders of the proxy configurations: the protected service's name and address.
EXAMPLE_SERVICE = {
    "server_name": "app.example.com",
    "listen": "80",
    "site": "app.example.com",
    "upstream": "127.0.0.1:8080",
    "upstream_url": "http://127.0.0.1:8080",
}
# Templates under templates/apikeys/forward_auth/, by the name people know each proxy by.
PROXY_TEMPLATES = {
    "nginx": "apikeys/forward_auth/nginx.conf.txt",
    "Caddy": "apikeys/forward_auth/Caddyfile.txt",
    "Traefik": "apikeys/forward_auth/traefik.yml.txt",
}


def proxy_configurations(*, authorize_url: str, **service: str) -> dict[str, str]:
    """Return the nginx, Caddy and Traefik configurations that protect a service with ``authorize_url``.

    The one source of the configurations that docs/forward-auth.md shows, the dashboard fills in and
    the tests run through the real proxies. ``service`` overrides ``EXAMPLE_SERVICE``.
    """
    parts = urlsplit(authorize_url)
    context = {
        **EXAMPLE_SERVICE,
        **service,
        "authorize_url": authorize_url,
        "envkeys_origin": f"{parts.scheme}://{parts.netloc}",
        "authorize_path": parts.path,
    }
    return {name: render_to_string(template, context).strip() + "\n" for name, template in PROXY_TEMPLATES.items()}

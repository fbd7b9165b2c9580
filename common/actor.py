"""Who did something and from where: the value every service is given and the audit log records."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings


def client_address(request) -> str:
    """Return the client's IP address.

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` is above zero, in which case the address that
    many hops from the right of ``X-Forwarded-For`` is used (the header's left part is whatever
    the client sent, so it is never trusted). With fewer entries than trusted proxies (a request
    that came in past the outer ones), the leftmost entry is the address that the outermost proxy
    it passed saw: that one, never the proxy's own address, which all such clients would share.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def api_key_of(principal):
    """Return the API key a principal stands for, or None for users, anonymous requests and None."""
    return getattr(principal, "api_key", None)


@dataclass(frozen=True)
class Actor:
    """Who asked for a change, and from which address.

    ``principal`` is ``request.user``: a Django user, an anonymous user, or the principal of an
    environment API key (which carries the key as ``principal.api_key``). ``SYSTEM`` (no principal,
    no address) stands for management commands and other code that acts on its own.
    """

    principal: Any = None
    address: str = ""

    @classmethod
    def of(cls, request) -> "Actor":
        """Return the actor behind a request (DRF's or Django's), once authentication has run."""
        return cls(principal=request.user, address=client_address(request))

    @property
    def user(self):
        """Return the signed-in Django user, or None (the system, anonymous, or an API key)."""
        principal = self.principal
        if principal is None or api_key_of(principal) is not None:
            return None
        return principal if getattr(principal, "is_authenticated", False) else None


SYSTEM = Actor()

"""Where a request comes from: the client address, trusting only the configured proxies."""

from django.conf import settings


def client_address(request) -> str:
    """Return the client's IP address.

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` is above zero, in which case the address that
    many hops from the right of ``X-Forwarded-For`` is used (the header's left part is whatever
    the client sent, so it is never trusted).
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]

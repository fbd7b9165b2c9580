"""Brute-force limits on API-key authentication: failures counted by client address and by access key.

Only failures count: a wrong or unknown key pair, or Basic credentials that cannot be read. A key
that is inactive or expired is not a guess (its secret has verified) and does not count.

Over a limit the request is answered 429 before any secret is checked. Two limits:

- per address (``AUTH_FAILURE_RATE_PER_ADDRESS``): one address that fails too often is refused,
  whatever key it sends. This is what stops one machine guessing or enumerating.
- per access key (``AUTH_FAILURE_RATE_PER_KEY``): a key that fails too often, from anywhere, is
  refused *to the addresses that have failed with it*. A distributed attack on one key gets one
  guess per address; the key's holder, who has not failed with it, is never locked out. (Secrets
  are 238 random bits, so guessing one is hopeless anyway; a lock that shut out the holder would
  only hand anyone who has seen an access key a way to stop a deployment.)

The success path does no cache I/O: the counters are read only for addresses that this process
has seen fail within the window. Another process's failures are still counted in the shared
cache, so a client spreading guesses over N processes gets at most N checked attempts beyond the
limit per window (the first failure each process sees), each answered 429.
"""

import threading
from collections import OrderedDict

from django.core.cache import cache
from rest_framework.exceptions import Throttled

from apikeys import crypto
from config import throttling
from config.client import client_address

# Failure codes from services.authenticate_api_key that count towards the limits (see above).
COUNTED_FAILURES = {"authentication_failed"}

# How many recently failing addresses each process remembers; beyond that the oldest is
# forgotten, which costs an attacker nothing it could not get from a fresh address anyway.
_REMEMBERED_ADDRESSES = 10_000


class AddressFailureThrottle(throttling.FailureRateThrottle):
    """Failed API-key authentications from one client address (an IPv6 /64 counts as one)."""

    scope = "apikey-address"
    setting = "AUTH_FAILURE_RATE_PER_ADDRESS"
    message = "Too many failed authentications from this address."

    def get_ident(self, request):
        return throttling.address_ident(client_address(request))


class KeyFailureThrottle(throttling.FailureRateThrottle):
    """Failed authentications with one access key, from any address.

    Over the limit, the key is refused only to addresses that have failed with it in this window.
    """

    scope = "apikey-key"
    setting = "AUTH_FAILURE_RATE_PER_KEY"
    message = "Too many failed authentications with this access key."

    def __init__(self, access_key: str | None):
        self.access_key = access_key if access_key and crypto.is_well_formed_access_key(access_key) else None
        super().__init__()

    def get_ident(self, request):
        return self.access_key

    def _tried_from_here_key(self, request) -> str:
        ident = f"{throttling.address_ident(client_address(request))}-{self.access_key}"
        return self.cache_format % {"scope": f"{self.scope}-from", "ident": ident, "window": self.window}

    def allow_request(self, request, view=None) -> bool:
        """Return whether the key is under its limit, or this address has not failed with it."""
        if super().allow_request(request, view) or self.access_key is None:
            return True
        return not cache.get(self._tried_from_here_key(request), 0)

    def record_failure(self, request) -> bool:
        """Count one failure of the key, also as tried from this address; return whether over."""
        over = super().record_failure(request)
        if self.num_requests is not None and self.access_key is not None:
            throttling.increment_counter(self._tried_from_here_key(request), timeout=self.duration)
        return over


class _RecentlyFailed:
    """The address identities this process has seen fail, each until its window has passed."""

    def __init__(self, size: int):
        self._until: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, ident: str) -> bool:
        until = self._until.get(ident)
        return until is not None and until > throttling._now()

    def add(self, ident: str, *, seconds: int) -> None:
        with self._lock:
            self._until[ident] = throttling._now() + seconds
            self._until.move_to_end(ident)
            while len(self._until) > self._size:
                self._until.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


recently_failed = _RecentlyFailed(_REMEMBERED_ADDRESSES)


def _throttles(access_key: str | None):
    return [AddressFailureThrottle(), KeyFailureThrottle(access_key)]


def _refusal(throttle) -> Throttled:
    return Throttled(wait=throttle.wait(), detail=throttle.message)


def refuse_if_over_limit(request, *, access_key: str) -> None:
    """Raise Throttled if the request's address or access key is over its failure limit.

    Call it before checking the secret. Costs no cache access for an address that this process
    has not seen fail recently.
    """
    if throttling.address_ident(client_address(request)) not in recently_failed:
        return
    for throttle in _throttles(access_key):
        if not throttle.allow_request(request):
            raise _refusal(throttle)


def record_failure(request, *, access_key: str | None, code: str) -> None:
    """Count a failed authentication; raise Throttled if that puts the request over a limit."""
    if code not in COUNTED_FAILURES:
        return
    throttles = _throttles(access_key)
    longest = max((throttle.duration or 0) for throttle in throttles)
    if longest:
        recently_failed.add(throttling.address_ident(client_address(request)), seconds=longest)
    over = [throttle for throttle in throttles if throttle.record_failure(request)]
    if over:
        raise _refusal(max(over, key=lambda throttle: throttle.wait()))

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
import time
from collections import OrderedDict

from rest_framework.exceptions import Throttled

from apikeys import crypto
from common.limits import FailureLimit, address_ident

# Failure codes from apikeys.usage.authenticate_api_key that count towards the limits (see above).
COUNTED_FAILURES = {"authentication_failed"}

PER_ADDRESS = FailureLimit(
    scope="apikey-address",
    setting="AUTH_FAILURE_RATE_PER_ADDRESS",
    message="Too many failed authentications from this address.",
)
PER_KEY = FailureLimit(
    scope="apikey-key",
    setting="AUTH_FAILURE_RATE_PER_KEY",
    message="Too many failed authentications with this access key.",
)
# Which addresses failed with which key, in the same windows as PER_KEY: those are the ones it refuses.
_KEY_FROM_ADDRESS = FailureLimit(scope="apikey-key-from", setting="AUTH_FAILURE_RATE_PER_KEY")

# How many recently failing addresses each process remembers; beyond that the oldest is
# forgotten, which costs an attacker nothing it could not get from a fresh address anyway.
_REMEMBERED_ADDRESSES = 10_000


class _RecentlyFailed:
    """The address identities this process has seen fail, each until its window has passed."""

    def __init__(self, size: int):
        self._until: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, ident: str) -> bool:
        until = self._until.get(ident)
        return until is not None and until > time.time()

    def add(self, ident: str, *, seconds: int) -> None:
        with self._lock:
            self._until[ident] = time.time() + seconds
            self._until.move_to_end(ident)
            while len(self._until) > self._size:
                self._until.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._until.clear()


recently_failed = _RecentlyFailed(_REMEMBERED_ADDRESSES)


def _counted_key(access_key: str | None) -> str | None:
    """Return the access key if it has an access key's shape (only such keys are counted), else None."""
    return access_key if access_key and crypto.is_well_formed_access_key(access_key) else None


def _refusal(limit: FailureLimit) -> Throttled:
    return Throttled(wait=limit.retry_after(), detail=limit.message)


def refuse_if_over_limit(*, address: str, access_key: str) -> None:
    """Raise Throttled if the address, or the access key from this address, is over its failure limit.

    Call it before checking the secret. Costs no cache access for an address that this process
    has not seen fail recently.
    """
    ident = address_ident(address)
    if ident not in recently_failed:
        return
    if PER_ADDRESS.is_over(ident):
        raise _refusal(PER_ADDRESS)
    key = _counted_key(access_key)
    if key is not None and PER_KEY.is_over(key) and _KEY_FROM_ADDRESS.failures(f"{ident}-{key}"):
        raise _refusal(PER_KEY)


def record_failure(*, address: str, access_key: str | None, code: str) -> None:
    """Count a failed authentication; raise Throttled if that puts the request over a limit."""
    if code not in COUNTED_FAILURES:
        return
    ident = address_ident(address)
    key = _counted_key(access_key)
    longest = max(PER_ADDRESS.window_seconds(), PER_KEY.window_seconds())
    if longest:
        recently_failed.add(ident, seconds=longest)
    over = [PER_ADDRESS] if PER_ADDRESS.record(ident) else []
    if key is not None and PER_KEY.record(key):
        over.append(PER_KEY)
    if key is not None:
        _KEY_FROM_ADDRESS.record(f"{ident}-{key}")
    if over:
        raise _refusal(max(over, key=lambda limit: limit.retry_after()))

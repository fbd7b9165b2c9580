"""Counting failures in Django's cache: the base of the API-key and sign-in brute-force limits.

A limit is a rate such as ``"10/min"`` or ``"5/15m"``: that many failures per fixed window of
that length. Counters are atomic (``cache.add`` + ``cache.incr``), so concurrent failures are
never lost, which matters because the attacker chooses how many requests run at once.
"""

import functools
import hashlib
import ipaddress
import math
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

# "<count>/<period>", the period being DRF's s/m/h/d (any spelling that starts with one of them,
# "min", "hour"...) optionally preceded by a multiple: "5/15m" is five per fifteen minutes.
_RATE_RE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*", re.IGNORECASE)
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# An IPv6 client usually holds a whole /64, so its addresses count together.
_IPV6_PREFIX = 64


def _now() -> float:
    """Return the current time in seconds; tests replace this to move the clock."""
    return time.time()


def parse_rate(value: str | None) -> tuple[int, int] | None:
    """Return ``(failures, seconds)`` for a rate like ``"10/min"``; None when empty (no limit).

    Raise ValueError for anything else.
    """
    if value is None or not str(value).strip():
        return None
    match = _RATE_RE.fullmatch(str(value))
    if match is None:
        raise ValueError(f'{value!r} is not a rate such as "10/min" or "5/15m".')
    count, multiple, unit = match.groups()
    seconds = int(multiple or 1) * _PERIOD_SECONDS[unit.lower()]
    if seconds <= 0:
        raise ValueError(f"{value!r} has an empty period.")
    return int(count), seconds


@functools.lru_cache(maxsize=4096)
def address_ident(address: str) -> str:
    """Return the cache identity of a client address: the IPv4 address, or the IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        # Not an address (a misconfigured proxy header): still count it, under a cache-safe name.
        return "other-" + hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{_IPV6_PREFIX}", strict=False))
    return str(ip)


def text_ident(value: str) -> str:
    """Return a cache-safe identity for client-chosen text (a username)."""
    return hashlib.sha256(value.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]


class FailureRateThrottle(SimpleRateThrottle):
    """Refuse an identity once it has ``num_requests`` failures in the current window.

    Unlike DRF's throttles, which count every request, this one counts only what
    ``record_failure()`` is told about, and ``allow_request()`` only reads. Subclasses name the
    ``setting`` that holds the rate and say how a request maps to an identity (``get_ident``).
    """

    setting = ""
    cache_format = "envkeys:failures:%(scope)s:%(ident)s:%(window)d"

    def get_rate(self):
        """Return the rate from the Django setting named by ``setting`` (read per request)."""
        return getattr(settings, self.setting)

    def parse_rate(self, rate):
        """Return ``(failures, seconds)`` or ``(None, None)`` for no limit."""
        try:
            parsed = parse_rate(rate)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{self.setting}: {exc}") from None
        return parsed or (None, None)

    def timer(self) -> float:
        """Return the current time (replaceable in tests through ``_now``)."""
        return _now()

    def get_ident(self, request) -> str | None:
        """Return the identity this throttle counts for the request, or None to skip it."""
        raise NotImplementedError

    def get_cache_key(self, request, view):
        """Return the cache key of the identity's counter in the current window."""
        ident = self.get_ident(request)
        if ident is None:
            return None
        self.now = self.timer()
        self.window = int(self.now // self.duration)
        return self.cache_format % {"scope": self.scope, "ident": ident, "window": self.window}

    def failures(self, request) -> int:
        """Return how many failures the identity has in the current window."""
        if self.num_requests is None:
            return 0
        key = self.get_cache_key(request, None)
        return 0 if key is None else cache.get(key, 0)

    def allow_request(self, request, view=None) -> bool:
        """Return whether the identity is under its limit. Reads the cache; never writes."""
        return self.num_requests is None or self.failures(request) < self.num_requests

    def record_failure(self, request) -> bool:
        """Count one failure of the identity; return whether it is now over its limit."""
        if self.num_requests is None:
            return False
        key = self.get_cache_key(request, None)
        if key is None:
            return False
        return increment_counter(key, timeout=self.duration) > self.num_requests

    def wait(self) -> int:
        """Return the whole seconds until the current window ends (at least one)."""
        return max(1, math.ceil((self.window + 1) * self.duration - self.now))


def increment_counter(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (created with ``timeout``); return the new count."""
    try:
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        # Expired between add() and incr(): this failure starts the count again.
        cache.add(key, 1, timeout)
        return 1

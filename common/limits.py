"""Limits on failures per fixed time window, counted in Django's cache: the base of every brute-force limit.

A limit is a rate such as ``"10/min"`` or ``"5/15m"``: that many failures per fixed window of that
length, read from a setting on every call (so tests and operators can change it). Counting goes
through ``common.counters``, whose increments are atomic.
"""

import functools
import hashlib
import ipaddress
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common import counters

# "<count>/<period>", the period being s/m/h/d (any spelling that starts with one of them, "min",
# "hour"...) optionally preceded by a multiple: "5/15m" is five per fifteen minutes.
_RATE_RE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*", re.IGNORECASE)
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# An IPv6 client usually holds a whole /64, so its addresses count together.
_IPV6_PREFIX = 64


@functools.lru_cache(maxsize=64)
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
    """Return the identity a client address is counted under: the IPv4 address, or the IPv6 /64."""
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


@dataclass(frozen=True)
class FailureLimit:
    """At most so many failures per window for one identity; the rate is read from ``setting``.

    Only what ``record()`` is told about counts, and ``is_over()`` only reads. Nothing is kept
    between calls: every call reads the setting and the clock afresh.
    """

    scope: str
    setting: str
    message: str = ""

    def rate(self) -> tuple[int, int] | None:
        """Return ``(failures, seconds)``, or None when the setting turns the limit off."""
        try:
            return parse_rate(getattr(settings, self.setting))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{self.setting}: {exc}") from None

    def _counter(self, ident: str, seconds: int) -> str:
        window = int(time.time() // seconds)
        return f"envkeys:failures:{self.scope}:{ident}:{window}"

    def failures(self, ident: str) -> int:
        """Return how many failures ``ident`` has in the current window (0 with the limit off)."""
        rate = self.rate()
        return 0 if rate is None else counters.read(self._counter(ident, rate[1]))

    def is_over(self, ident: str) -> bool:
        """Return whether ``ident`` has used up its failures in the current window."""
        rate = self.rate()
        return rate is not None and counters.read(self._counter(ident, rate[1])) >= rate[0]

    def record(self, ident: str) -> bool:
        """Count one failure of ``ident``; return whether it is now over the limit."""
        rate = self.rate()
        if rate is None:
            return False
        count, seconds = rate
        return counters.increment(self._counter(ident, seconds), timeout=seconds) > count

    def retry_after(self) -> int:
        """Return the whole seconds until the current window ends (at least one)."""
        rate = self.rate()
        if rate is None:
            return 1
        seconds = rate[1]
        now = time.time()
        return max(1, math.ceil((int(now // seconds) + 1) * seconds - now))

    def window_seconds(self) -> int:
        """Return the window's length in seconds (0 with the limit off)."""
        rate = self.rate()
        return 0 if rate is None else rate[1]

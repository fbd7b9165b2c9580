"""Counters in Django's cache: atomic increments that expire, seen alike by every process using the cache.

This module is the only code that touches the cache. The cache holds nothing but counters, so an
outage (Redis stopped, hung or unreachable) costs only the counting: every operation here fails
open (an increment counts nothing and returns 0, a read returns 0) and its error goes through
``cache_failed``, which logs a warning at most once a minute per process. After a failure this
process leaves the cache alone for ``CACHE_RETRY_INTERVAL`` seconds, so a hung Redis costs one
request at most one socket timeout (``CACHE_SOCKET_TIMEOUT``) in that time and the others nothing;
then the next operation tries again, and counting resumes as soon as the cache answers.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from common import metrics

logger = logging.getLogger("envkeys.cache")

# A cache that stays down is reported once per this many seconds per process, not once per request.
WARNING_INTERVAL = 60
T = TypeVar("T")

_lock = threading.Lock()
_last_warning: float | None = None
_skip_until = 0.0


def cache_failed(operation: str, error: Exception) -> None:
    """Handle a failed cache operation: the one place every cache error on the counters goes through.

    Nothing is raised: the caller carries on as if nothing had been counted. The cache is left
    alone for ``CACHE_RETRY_INTERVAL`` seconds, and a warning is logged at most once per
    ``WARNING_INTERVAL`` seconds in this process.
    """
    global _last_warning, _skip_until
    metrics.count_cache_error()
    now = time.time()
    with _lock:
        _skip_until = now + settings.CACHE_RETRY_INTERVAL
        if _last_warning is not None and 0 <= now - _last_warning < WARNING_INTERVAL:
            return
        _last_warning = now
    logger.warning(
        "The cache is unavailable (%s: %s: %s); failure limits count nothing until it answers again.",
        operation,
        type(error).__name__,
        error,
    )


def reset() -> None:
    """Forget past cache failures: the next operation uses the cache, the next failure is logged (for tests)."""
    global _last_warning, _skip_until
    with _lock:
        _last_warning = None
        _skip_until = 0.0


def _attempt(operation: str, action: Callable[[], T], fallback: T) -> T:
    """Return ``action()``, or ``fallback`` when the cache fails now or failed in the last few seconds."""
    if time.time() < _skip_until:
        return fallback
    try:
        return action()
    except Exception as error:
        # Any error from the cache backend: the counters fail open whatever the backend raises.
        cache_failed(operation, error)
        return fallback


def increment(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (created with ``timeout`` seconds to live); return the new count.

    ``cache.incr`` and ``cache.add`` are atomic on every backend, so concurrent increments are never
    lost, which matters where the client chooses how many requests run at once. Return 0 (nothing
    counted) when the cache is unavailable.
    """
    return _attempt("increment", lambda: _increment(key, timeout), 0)


def _increment(key: str, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:
        # Expired between add() and incr(): this increment starts the count again.
        cache.add(key, 1, timeout)
        return 1


def read(key: str) -> int:
    """Return the counter at ``key``, 0 when it does not exist or the cache is unavailable."""
    return _attempt("read", lambda: cache.get(key, 0), 0)


def read_many(keys: list[str]) -> dict[str, int]:
    """Return the counters that exist among ``keys`` (none when the cache is unavailable)."""
    return _attempt("read", lambda: cache.get_many(keys), {})


def put(key: str, value: int, *, timeout: int) -> None:
    """Set the counter at ``key`` to ``value`` (nothing when the cache is unavailable)."""
    _attempt("put", lambda: cache.set(key, value, timeout=timeout), None)


def available() -> bool:
    """Return whether the cache answers a read now, for the readiness probe (which says so, never waits on it).

    Tried even in the seconds after a failure; a failure goes through ``cache_failed`` like any other.
    """
    try:
        cache.get("envkeys:readyz")
    except Exception as error:
        cache_failed("read", error)
        return False
    return True

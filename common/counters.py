"""Counters in Django's cache: atomic increments that expire, seen alike by every process using the cache."""

from django.core.cache import cache

from common.metrics import counts_cache_errors


@counts_cache_errors
def increment(key: str, *, timeout: int) -> int:
    """Add one to the counter at ``key`` (created with ``timeout`` seconds to live); return the new count.

    ``cache.incr`` and ``cache.add`` are atomic on every backend, so concurrent increments are never
    lost, which matters where the client chooses how many requests run at once.
    """
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


@counts_cache_errors
def read(key: str) -> int:
    """Return the counter at ``key``, 0 when it does not exist."""
    return cache.get(key, 0)

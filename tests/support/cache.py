"""The cache backend of the test settings when CACHE_URL is Redis: clear() empties only this run's keys."""

from django.core.cache.backends.redis import RedisCache


class PrefixScopedRedisCache(RedisCache):
    """Django's Redis cache, except that clear() deletes only the keys under this KEY_PREFIX.

    RedisCache.clear() is FLUSHDB: in one xdist worker it would empty the other workers' entries
    (throttle and refusal counters) in the middle of their tests. The test settings give every
    worker its own KEY_PREFIX, so each clear() stays within its worker.
    """

    def clear(self) -> bool:
        """Delete every key under this cache's KEY_PREFIX."""
        client = self._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return True

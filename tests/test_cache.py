"""The test run's Redis cache stays within its own key prefix (tests/support/cache.py)."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.support import engines


def test_clearing_the_test_cache_leaves_other_workers_entries_alone():
    engines.require_redis()
    cache = caches["default"]
    other_worker = RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "envkeys-test-another-worker"})
    other_worker.set("counter", 7)
    cache.set("counter", 3)
    try:
        cache.clear()

        assert cache.get("counter") is None
        assert other_worker.get("counter") == 7
    finally:
        other_worker.delete("counter")

"""Which database and cache the suite runs on, and the prerequisites of tests that need real ones.

The suite runs on SQLite and the local-memory cache by default, and on PostgreSQL and Redis when
``DATABASE_URL`` and ``CACHE_URL`` point at them (the second pass of ``.ci/run``). Tests that need
the real engines skip on the default pass; with ``TEST_REQUIRE_ENGINES=1`` (set by ``.ci/run`` for
its PostgreSQL pass) they fail instead, so that a misconfigured pass cannot skip them silently.
"""

import os
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection


def engines_required() -> bool:
    """Return whether tests that need PostgreSQL or Redis must run rather than skip."""
    return os.environ.get("TEST_REQUIRE_ENGINES", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if engines_required():
        pytest.fail(f"{reason}, but TEST_REQUIRE_ENGINES is set: this pass must run on PostgreSQL and Redis.")
    pytest.skip(reason)


def is_postgresql() -> bool:
    """Return whether the test database is PostgreSQL."""
    return connection.vendor == "postgresql"


def is_redis() -> bool:
    """Return whether the default cache is Django's Redis backend."""
    return isinstance(caches["default"], RedisCache)


def require_postgresql() -> None:
    """Skip the calling test unless the database is PostgreSQL (fail instead when engines are required)."""
    if not is_postgresql():
        _unavailable(f"needs PostgreSQL (DATABASE_URL=postgres://...); the database is {connection.vendor}")


def require_redis() -> None:
    """Skip the calling test unless the cache is Redis (fail instead when engines are required)."""
    if not is_redis():
        _unavailable(f"needs Redis (CACHE_URL=redis://...); the cache is {type(caches['default']).__name__}")


def database_url() -> str:
    """Return a DATABASE_URL for the database the tests use now (the test database, once created)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError(f"Only a PostgreSQL test database can be shared with servers, not {connection.vendor}.")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def cache_url() -> str:
    """Return a CACHE_URL for the Redis cache the tests use, with this run's key prefix."""
    if not is_redis():
        raise RuntimeError("Only a Redis cache can be shared with other processes.")
    location = settings.CACHES["default"]["LOCATION"]
    if not isinstance(location, str):
        location = location[0]
    return f"{location}?key_prefix={quote(caches['default'].key_prefix, safe='')}"

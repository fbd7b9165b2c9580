"""Test settings: the production settings with only what tests need overridden."""

import os

# A fixed key for the test run only; real deployments must set SECRET_KEY themselves.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from config.settings import *  # noqa: E402,F403
from config.settings import CACHES, DATABASES  # noqa: E402

# Fast password hashing in tests; production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the apps, so tests need no collectstatic run.
WHITENOISE_AUTOREFRESH = True
ACCESS_CONTROL = True
PUBLIC_URL = "http://testserver"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"] = {}

# Each xdist worker (gw0, gw1, ...) keeps its cache entries apart in a shared Redis, and there
# cache.clear() empties only that worker's prefix instead of the whole Redis database.
CACHES["default"]["KEY_PREFIX"] = "envkeys-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "tests.support.cache.PrefixScopedRedisCache"
    # The suite's shared Redis is never down on purpose: on a loaded machine, give it time rather
    # than the production 0.1 s (tests of an outage start a Redis of their own).
    CACHES["default"]["OPTIONS"].update(socket_connect_timeout=5, socket_timeout=5)

"""Shared fixtures: users in every role, environments, keys, API and browser clients, the clock, servers."""

import datetime
import itertools

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import services as key_services
from apikeys.limits import recently_failed
from common import counters
from environments import services as environment_services
from environments.models import Role
from tests.support import engines
from tests.support.auth import basic_auth
from tests.support.clock import Clock
from tests.support.servers import start_app_server, stop_app_servers


@pytest.fixture(autouse=True)
def _fresh_failure_counts():
    """Start every test with no failed-authentication counts in this process's memory.

    The counters in the cache go with the cache (``_empty_cache``); a cache failure seen by an
    earlier test is forgotten too.
    """
    recently_failed.clear()
    counters.reset()


@pytest.fixture
def clock():
    """Stop the clock 5 s into the next minute; the test moves it with ``clock.advance(seconds=...)``.

    The start lies ahead of the real time (never behind what fixtures already wrote) and at a known
    place in its minute, so minute windows fall the same way every run. time-machine stops the
    clock everywhere in this process: ``timezone.now()``, ``time.time()``, the local-memory cache's
    expiry. Servers started as processes keep the real time.
    """
    start = (timezone.now() + datetime.timedelta(minutes=1)).replace(second=5, microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        yield Clock(traveller, start)


@pytest.fixture
def make_user(django_user_model):
    """Return a factory of users (password: the username twice)."""

    def make(username: str, **extra):
        return django_user_model.objects.create_user(username=username, password=username * 2, **extra)

    return make


@pytest.fixture
def owner(make_user):
    return make_user("olivia")


@pytest.fixture
def member(make_user):
    return make_user("marco")


@pytest.fixture
def reader(make_user):
    return make_user("rita")


@pytest.fixture
def outsider(make_user):
    return make_user("oscar")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="rootroot")


@pytest.fixture
def environment(owner, member, reader):
    """The environment "production" with an owner, a member and a read-only member."""
    env = environment_services.create_environment(name="production", description="Live systems", owner=owner)
    environment_services.add_member(environment=env, username=member.username, role=Role.MEMBER)
    environment_services.add_member(environment=env, username=reader.username, role=Role.READ_ONLY)
    return env


@pytest.fixture
def other_environment(outsider):
    """The environment "staging", owned by the outsider, with nobody from "production" in it."""
    return environment_services.create_environment(name="staging", owner=outsider)


@pytest.fixture
def make_key():
    """Return a factory of keys: ``make_key(environment, **options) -> (key, secret)``."""

    def make(environment, **options):
        return key_services.create_api_key(environment=environment, **options)

    return make


@pytest.fixture
def key_pair(environment, make_key):
    """An active read-write key of "production" and its secret."""
    return make_key(environment, name="deploy")


@pytest.fixture
def web_client_for():
    """Return a factory of browser-like clients, signed in as ``user`` (or anonymous for None)."""

    def make(user=None, **options):
        client = Client(**options)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api_client():
    """An API client with no credentials."""
    return APIClient()


@pytest.fixture
def key_client(key_pair):
    """An API client that sends the "production" key pair with every request."""
    key, secret = key_pair
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
    return client


@pytest.fixture
def api_client_for():
    """Return a factory of API clients signed in (by session) as a user."""

    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache, so that no counter or entry leaks from one test to the next."""
    caches["default"].clear()


@pytest.fixture
def server_factory(tmp_path):
    """Return a starter of gunicorn app servers, all stopped when the test ends.

    ``server_factory(env={...}, workers=1) -> AppServer``: the server runs ``config.settings`` on a
    free loopback port with only ``env`` as its configuration (see ``tests/support/servers.py``).
    """
    started = []
    numbers = itertools.count(1)

    def start(*, env: dict | None = None, workers: int = 1):
        server = start_app_server(name=f"server-{next(numbers)}", env=env or {}, log_dir=tmp_path, workers=workers)
        started.append(server)
        return server

    yield start
    stop_app_servers(started)


@pytest.fixture
def app_servers(transactional_db, server_factory):
    """Return a starter of app servers that share the test's PostgreSQL database and Redis cache.

    ``app_servers(count=2, **env) -> [AppServer, ...]``. What the test commits is what the servers
    see (the test runs with ``transactional_db``); they share SECRET_KEY and the cache key prefix
    with the test process, so sessions and cache entries mean the same everywhere. Needs
    PostgreSQL and Redis: skips without them (fails instead under TEST_REQUIRE_ENGINES=1).
    """
    engines.require_postgresql()
    engines.require_redis()
    shared = {
        "DATABASE_URL": engines.database_url(),
        "CACHE_URL": engines.cache_url(),
        # The shared Redis is never down on purpose: on a loaded machine, give it time.
        "CACHE_SOCKET_TIMEOUT": "5",
        "SECRET_KEY": settings.SECRET_KEY,
    }

    def start(count: int = 2, **env):
        return [server_factory(env={**shared, **env}) for _ in range(count)]

    return start

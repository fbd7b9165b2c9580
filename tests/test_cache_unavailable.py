"""A cache outage costs only the counting: keys and sign-ins keep working, refusals stay 401.

The cache holds nothing but the failure counters (``common.counters``). With Redis refusing
connections, stopped, or paused with SIGSTOP, every request is answered as it would be without
limits; a warning is logged at most once a minute per process; a hung Redis costs one request at
most one socket timeout per ``CACHE_RETRY_INTERVAL``; counting resumes when Redis is back.
"""

import logging
import shutil
import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apikeys import crypto
from common import counters
from tests.support import engines
from tests.support.auth import basic_auth
from tests.support.processes import RedisServer, free_port, server_directory

ADDRESS = "203.0.113.9"
ENDPOINT = "/api/v1/environments/{}/"


def redis_cache(url: str) -> dict:
    """Return CACHES for Django's Redis backend at ``url`` with the production settings' timeouts."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }


@pytest.fixture
def cache_refusing_connections(settings):
    """Point the cache at a loopback port where nothing listens: every cache operation fails at once."""
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    return settings


@pytest.fixture
def redis_server():
    """A Redis server of this test's own, which it may stop, pause and start again."""
    directory = server_directory()
    server = RedisServer(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def _client(access_key: str, secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(access_key, secret), REMOTE_ADDR=ADDRESS)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        pytest.param("wrong-secret", "authentication_failed", id="wrong-secret"),
        pytest.param("unknown-key", "authentication_failed", id="unknown-access-key"),
        pytest.param("garbage", "authentication_failed", id="garbage"),
    ],
)
def test_refused_credentials_are_still_answered_401_when_the_cache_refuses_connections(
    cache_refusing_connections, environment, key_pair, credentials, code
):
    key, _secret = key_pair
    pair = {
        "wrong-secret": (key.access_key, crypto.generate_secret_key()),
        "unknown-key": (crypto.generate_access_key(), crypto.generate_secret_key()),
        "garbage": ("not-a-key", "not-a-secret"),
    }[credentials]

    response = _client(*pair).get(ENDPOINT.format(environment.pk))

    assert response.status_code == 401, response.content
    assert response.json()["code"] == code


@pytest.mark.django_db
def test_a_valid_key_from_an_address_that_failed_works_when_the_cache_refuses_connections(
    cache_refusing_connections, environment, key_pair
):
    key, secret = key_pair
    assert _client(key.access_key, crypto.generate_secret_key()).get(ENDPOINT.format(environment.pk)).status_code == 401

    response = _client(key.access_key, secret).get(ENDPOINT.format(environment.pk))

    assert response.status_code == 200, response.content
    assert response.json()["id"] == environment.pk


@pytest.mark.django_db
def test_signing_in_works_and_a_wrong_password_is_refused_when_the_cache_refuses_connections(
    cache_refusing_connections, client, owner
):
    wrong = client.post(reverse("login"), {"username": "olivia", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    right = client.post(reverse("login"), {"username": "olivia", "password": "oliviaolivia"}, REMOTE_ADDR=ADDRESS)

    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.content.decode()
    assert right.status_code == 302
    assert "_auth_user_id" in right.wsgi_request.session


@pytest.mark.django_db
def test_the_outage_is_logged_at_most_once_a_minute_per_process(
    cache_refusing_connections, environment, key_pair, clock, caplog
):
    key, _secret = key_pair
    wrong = _client(key.access_key, crypto.generate_secret_key())

    def warnings_after_a_failed_request() -> int:
        assert wrong.get(ENDPOINT.format(environment.pk)).status_code == 401
        return len([record for record in caplog.records if record.name == "envkeys.cache"])

    caplog.set_level(logging.WARNING, logger="envkeys.cache")
    seen = [warnings_after_a_failed_request()]
    for seconds in (1, 10, 30, 15):
        clock.advance(seconds=seconds)
        seen.append(warnings_after_a_failed_request())
    clock.advance(seconds=5)
    seen.append(warnings_after_a_failed_request())

    # 0 s, 1 s, 11 s, 41 s, 56 s: one warning; 61 s: the second.
    assert seen == [1, 1, 1, 1, 1, 2]
    assert "The cache is unavailable" in caplog.records[0].getMessage()


@pytest.mark.django_db
def test_counting_resumes_when_the_cache_answers_again(settings, redis_server, clock):
    settings.CACHES = redis_cache(redis_server.url)
    settings.CACHE_RETRY_INTERVAL = 5
    assert counters.increment("resumes", timeout=60) == 1
    redis_server.pause()
    try:
        started = time.monotonic()
        paused = [counters.increment("resumes", timeout=60) for _ in range(20)]
        elapsed = time.monotonic() - started
    finally:
        redis_server.resume()

    within_the_interval = counters.increment("resumes", timeout=60)
    clock.advance(seconds=5)
    after_the_interval = counters.increment("resumes", timeout=60)

    assert paused == [0] * 20
    # One socket timeout (0.1 s) for the first, nothing for the other 19: far below 20 timeouts.
    print(f"20 increments against a paused Redis took {elapsed:.3f} s")
    assert elapsed < 1.0
    assert within_the_interval == 0
    assert after_the_interval == 2


@pytest.fixture
def server_on_own_redis(app_servers, redis_server):
    """Return a starter of one gunicorn on the test's database and on the test's own Redis."""
    engines.require_redis()

    def start(**env):
        (server,) = app_servers(
            1,
            CACHE_URL=redis_server.url,
            # The production default (tests/test_deploy.py checks it), which app_servers raises.
            CACHE_SOCKET_TIMEOUT="0.1",
            AUTH_FAILURE_RATE_PER_ADDRESS="3/min",
            AUTH_FAILURE_RATE_PER_KEY="",
            **env,
        )
        return server

    return start


@pytest.mark.slow
def test_a_real_server_answers_as_usual_with_its_redis_stopped(
    server_on_own_redis, redis_server, environment, make_key
):
    server = server_on_own_redis()
    key, secret = make_key(environment, name="deploy")
    endpoint = ENDPOINT.format(environment.pk)
    wrong = (key.access_key, crypto.generate_secret_key())
    assert server.request("GET", endpoint, auth=(key.access_key, secret)).status == 200

    redis_server.stop()
    refused = [server.request("GET", endpoint, auth=wrong).status for _ in range(5)]
    garbage = server.request("GET", endpoint, auth=("not-a-key", "not-a-secret")).status
    valid = server.request("GET", endpoint, auth=(key.access_key, secret)).status

    # Five failures over a limit of three: nothing is counted, so each is a plain 401.
    assert refused == [401] * 5, server.log_tail()
    assert garbage == 401
    assert valid == 200
    log = server.log_path.read_text()
    assert log.count("The cache is unavailable") == 1
    assert "Internal Server Error" not in log


@pytest.mark.slow
def test_a_paused_redis_costs_a_real_server_at_most_one_socket_timeout(
    server_on_own_redis, redis_server, environment, make_key
):
    server = server_on_own_redis()
    key, secret = make_key(environment, name="deploy")
    endpoint = ENDPOINT.format(environment.pk)
    wrong = (key.access_key, crypto.generate_secret_key())
    # This address has failed once: from now on its requests read the counters.
    assert server.request("GET", endpoint, auth=wrong).status == 401

    redis_server.pause()
    try:
        timings = {}
        for name, pair in (("wrong", wrong), ("valid", (key.access_key, secret)), ("garbage", ("x", "y"))):
            started = time.monotonic()
            timings[name] = (server.request("GET", endpoint, auth=pair).status, time.monotonic() - started)
    finally:
        redis_server.resume()

    print({name: f"{status} in {seconds:.3f} s" for name, (status, seconds) in timings.items()})
    assert {name: status for name, (status, _) in timings.items()} == {"wrong": 401, "valid": 200, "garbage": 401}
    # The first pays one socket timeout (0.1 s); the others skip the cache for CACHE_RETRY_INTERVAL.
    # Without the fix each waits several 2 s timeouts (or fails), far over this bound.
    assert max(seconds for _, seconds in timings.values()) < 1.0
    assert "The cache is unavailable (" in server.log_path.read_text()


@pytest.mark.slow
def test_a_real_server_counts_failures_again_once_redis_is_back(
    server_on_own_redis, redis_server, environment, make_key
):
    # No pause between retries here, so that the test needs no wait for the retry interval to pass.
    server = server_on_own_redis(CACHE_RETRY_INTERVAL="0")
    key, _secret = make_key(environment, name="deploy")
    endpoint = ENDPOINT.format(environment.pk)
    wrong = (key.access_key, crypto.generate_secret_key())
    redis_server.stop()
    while_stopped = [server.request("GET", endpoint, auth=wrong).status for _ in range(4)]

    redis_server.start()
    once_back = [server.request("GET", endpoint, auth=wrong).status for _ in range(4)]

    assert while_stopped == [401] * 4
    assert once_back == [401, 401, 401, 429]

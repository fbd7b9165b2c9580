"""Brute-force limits on API-key authentication, through the API."""

import pytest

from apikeys import services, usage
from apikeys.limits import PER_ADDRESS, recently_failed
from common import counters
from common.limits import FailureLimit
from tests.support.auth import basic_auth

ATTACKER = "203.0.113.7"
HOLDER = "198.51.100.20"


@pytest.fixture
def window_start(clock):
    """Where the limits' windows start: the clock stands just past it (seconds since the epoch)."""
    return clock.next_hour()


@pytest.fixture
def limits(settings, window_start):
    """Small limits: 3 failures per address, 2 per key, per minute."""
    settings.AUTH_FAILURE_RATE_PER_ADDRESS = "3/min"
    settings.AUTH_FAILURE_RATE_PER_KEY = "2/min"
    return settings


@pytest.fixture
def endpoint(environment):
    return f"/api/v1/environments/{environment.pk}/"


def send(api_client, url, authorization, address=ATTACKER, **extra):
    return api_client.get(url, HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=address, **extra)


@pytest.fixture
def guess(api_client, endpoint, key_pair):
    """Send a wrong secret for the "production" key: ``guess(address=...)``."""
    key, _ = key_pair

    def send_guess(address=ATTACKER, access_key=None, **extra):
        return send(api_client, endpoint, basic_auth(access_key or key.access_key, "wrong"), address, **extra)

    return send_guess


@pytest.fixture
def use_key(api_client, endpoint, key_pair):
    """Send the right "production" key pair: ``use_key(address=...)``."""
    key, secret = key_pair

    def send_valid(address=HOLDER, **extra):
        return send(api_client, endpoint, basic_auth(key.access_key, secret), address, **extra)

    return send_valid


def statuses(responses):
    return [response.status_code for response in responses]


def test_an_address_over_its_limit_gets_429_with_retry_after_and_a_json_body(limits, guess, clock, window_start):
    clock.move_to(window_start + 20)
    answers = [guess(access_key=f"EK{n:018d}") for n in range(4)]
    assert statuses(answers) == [401, 401, 401, 429]
    refused = answers[-1]
    assert refused["Retry-After"] == "40"
    assert refused.json() == {
        "code": "throttled",
        "detail": "Too many failed authentications from this address. Expected available in 40 seconds.",
    }


def test_over_the_limit_no_secret_is_checked_even_a_right_one(
    limits, guess, use_key, monkeypatch, django_assert_num_queries
):
    for n in range(3):
        guess(access_key=f"EK{n:018d}")

    def fail(**kwargs):
        raise AssertionError("the secret was checked")

    monkeypatch.setattr(usage, "authenticate_api_key", fail)
    with django_assert_num_queries(0):
        response = use_key(address=ATTACKER)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"


class CacheCalls:
    """Stands in for the cache in ``common.counters`` and records what is asked of it.

    It records rather than raises: the counters fail open, so a raised error would go unnoticed.
    """

    def __init__(self, cache):
        self.calls = []
        self._cache = cache

    def __getattr__(self, name):
        self.calls.append(name)
        return getattr(self._cache, name)


def test_a_successful_request_from_an_address_that_has_not_failed_does_no_cache_io(limits, use_key, guess, monkeypatch):
    guess()  # another address has failed: its counts must not be read for this one
    cache = CacheCalls(counters.cache)
    monkeypatch.setattr(counters, "cache", cache)

    assert use_key(address=HOLDER).status_code == 200
    assert cache.calls == []


def test_a_successful_request_from_an_address_that_failed_reads_its_counters(limits, use_key, guess, monkeypatch):
    guess(address=HOLDER, access_key="EK000000000000000000")  # a typo on another key
    cache = CacheCalls(counters.cache)
    monkeypatch.setattr(counters, "cache", cache)

    assert use_key(address=HOLDER).status_code == 200
    # The address's count, then the key's: two reads and no write.
    assert cache.calls == ["get", "get"]


def test_failures_on_another_key_never_slow_a_valid_key_from_the_same_address(
    limits, api_client, endpoint, environment, make_key, use_key
):
    broken, _ = make_key(environment, name="stale cron job")
    answers = [send(api_client, endpoint, basic_auth(broken.access_key, "stale"), HOLDER) for _ in range(5)]
    # The broken key is refused after its 2 failures, and refusals are not failures, so the
    # address stays under its own limit of 3 and the valid key next to it keeps working.
    assert statuses(answers) == [401, 401, 429, 429, 429]
    assert answers[-1].json()["detail"].startswith("Too many failed authentications with this access key.")
    assert use_key(address=HOLDER).status_code == 200


def test_guessing_at_a_key_from_elsewhere_never_locks_out_its_holder(limits, guess, use_key):
    # The holder's address has a failure of its own (a typo on another key), so its requests are
    # checked against the counters, and the key is over its limit.
    assert guess(address=HOLDER, access_key="EK000000000000000000").status_code == 401
    assert statuses([guess(address=ATTACKER) for _ in range(4)]) == [401, 401, 429, 429]
    assert use_key(address=HOLDER).status_code == 200
    assert use_key(address=HOLDER).status_code == 200


def test_a_key_over_its_limit_gives_each_further_address_one_checked_guess(limits, guess, use_key):
    guess(address="203.0.113.1")
    guess(address="203.0.113.2")
    first = guess(address="203.0.113.3")
    assert first.status_code == 429  # checked, counted, and over the key's limit
    # From then on that address is refused the key without a check, even with the right secret.
    assert use_key(address="203.0.113.3").status_code == 429
    assert use_key(address=HOLDER).status_code == 200


def test_inactive_and_expired_keys_are_not_guesses_and_do_not_count(limits, api_client, endpoint, key_pair):
    key, secret = key_pair
    services.deactivate_api_key(key=key)
    answers = [send(api_client, endpoint, basic_auth(key.access_key, secret)) for _ in range(6)]
    assert statuses(answers) == [401] * 6
    assert {answer.json()["code"] for answer in answers} == {"key_inactive"}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic !!!", id="not-base64"),
        pytest.param("Basic " + "YWJj", id="no-colon"),
        pytest.param("Basic", id="no-credentials"),
    ],
)
def test_unreadable_basic_credentials_count_towards_the_address_limit(limits, api_client, endpoint, authorization):
    answers = [send(api_client, endpoint, authorization) for _ in range(4)]
    assert statuses(answers) == [401, 401, 401, 429]


def test_the_limit_lifts_when_the_window_ends(limits, guess, use_key, clock, window_start):
    for n in range(3):
        guess(access_key=f"EK{n:018d}")
    assert use_key(address=ATTACKER).status_code == 429
    clock.move_to(window_start + 60)
    assert use_key(address=ATTACKER).status_code == 200


def test_refusals_do_not_extend_the_lock(limits, guess, use_key, clock, window_start):
    for n in range(3):
        guess(access_key=f"EK{n:018d}")
    clock.move_to(window_start + 59)
    assert statuses([guess() for _ in range(10)]) == [429] * 10
    clock.move_to(window_start + 60)
    assert use_key(address=ATTACKER).status_code == 200


def test_failures_seen_by_another_process_still_count(limits, guess):
    for n in range(3):
        guess(access_key=f"EK{n:018d}")
    recently_failed.clear()  # this process forgets: as if the failures hit another one
    answer = guess(access_key="EK999999999999999999")
    assert answer.status_code == 429


def test_an_empty_rate_turns_a_limit_off(limits, guess):
    limits.AUTH_FAILURE_RATE_PER_ADDRESS = ""
    limits.AUTH_FAILURE_RATE_PER_KEY = ""
    assert statuses([guess() for _ in range(8)]) == [401] * 8


def test_a_forged_forwarded_for_header_is_ignored_without_trusted_proxies(limits, guess):
    limits.TRUSTED_PROXY_COUNT = 0
    answers = [guess(access_key=f"EK{n:018d}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}") for n in range(4)]
    assert statuses(answers) == [401, 401, 401, 429]


def test_the_forwarded_address_counts_behind_a_trusted_proxy(limits, guess, use_key):
    limits.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    # The client forges entries on the left; the proxy appends the address it saw.
    answers = [
        guess(address=proxy, access_key=f"EK{n:018d}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}")
        for n in range(4)
    ]
    assert statuses(answers) == [401, 401, 401, 429]
    assert use_key(address=proxy, HTTP_X_FORWARDED_FOR=HOLDER).status_code == 200
    assert use_key(address=proxy, HTTP_X_FORWARDED_FOR=ATTACKER).status_code == 429


def test_addresses_of_one_ipv6_64_count_as_one(limits, guess, use_key):
    answers = [guess(address=f"2001:db8:0:1::{n}", access_key=f"EK{n:018d}") for n in range(1, 5)]
    assert statuses(answers) == [401, 401, 401, 429]
    assert use_key(address="2001:db8:0:1:ffff::9").status_code == 429
    assert use_key(address="2001:db8:0:2::1").status_code == 200


def test_every_process_adds_to_the_same_count(limits):
    # Three limits alike, as if in three processes at once: each only adds to the shared counter.
    alike = [FailureLimit(scope=PER_ADDRESS.scope, setting=PER_ADDRESS.setting) for _ in range(3)]
    for limit in alike:
        limit.record(ATTACKER)
    assert PER_ADDRESS.failures(ATTACKER) == 3
    assert [limit.is_over(ATTACKER) for limit in alike] == [True] * 3


def test_past_the_outer_of_two_trusted_proxies_the_address_the_inner_one_saw_counts(limits, guess):
    # Two trusted proxies, but the request came in past the outer one: the inner proxy appended the
    # client's address, the only entry. The client is counted by it, never by the proxy's own.
    limits.TRUSTED_PROXY_COUNT = 2
    inner_proxy = "10.0.0.2"
    answers = [guess(address=inner_proxy, access_key=f"EK{n:018d}", HTTP_X_FORWARDED_FOR=ATTACKER) for n in range(4)]
    assert statuses(answers) == [401, 401, 401, 429]
    other = guess(address=inner_proxy, access_key="EK" + "9" * 18, HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert other.status_code == 401

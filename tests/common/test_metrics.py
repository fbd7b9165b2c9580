"""Prometheus metrics: what each path counts, who may read /metrics, and the cached key counts."""

import datetime
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from apikeys import services, usage
from common import counters, metrics
from common.actor import SYSTEM
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float:
    """Return the value of a sample in this process's registry (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def outcomes() -> dict[str, float]:
    return {outcome: sample("envkeys_key_authentications_total", outcome=outcome) for outcome in metrics.KEY_OUTCOMES}


def delta(before: dict, after: dict) -> dict:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def scrape(client=None, **extra) -> dict:
    """Read /metrics and parse it with prometheus_client's own parser: ``{(name, labels): value}``."""
    response = (client or APIClient()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def endpoint(environment):
    return f"/api/v1/environments/{environment.pk}/"


def get(endpoint, access_key, secret, address="198.51.100.20"):
    return APIClient().get(endpoint, HTTP_AUTHORIZATION=basic_auth(access_key, secret), REMOTE_ADDR=address)


def test_each_key_authentication_outcome_is_counted_once(settings, endpoint, environment, key_pair, clock):
    settings.AUTH_FAILURE_RATE_PER_ADDRESS = "2/day"
    settings.AUTH_FAILURE_RATE_PER_KEY = ""
    key, secret = key_pair
    inactive, inactive_secret = services.create_api_key(environment=environment, name="off")
    services.deactivate_api_key(key=inactive)
    expiring, expiring_secret = services.create_api_key(
        environment=environment, name="soon", expires_at=clock.now + datetime.timedelta(hours=1)
    )
    clock.advance(hours=2)
    before = outcomes()

    statuses = [
        get(endpoint, key.access_key, secret).status_code,
        get(endpoint, inactive.access_key, inactive_secret).status_code,
        get(endpoint, expiring.access_key, expiring_secret).status_code,
        get(endpoint, key.access_key, "wrong", address="203.0.113.7").status_code,
        get(endpoint, key.access_key, "wrong", address="203.0.113.7").status_code,
        get(endpoint, key.access_key, "wrong", address="203.0.113.7").status_code,
    ]

    assert statuses == [200, 401, 401, 401, 401, 429]
    assert delta(before, outcomes()) == {
        "success": 1,
        "key_inactive": 1,
        "key_expired": 1,
        "authentication_failed": 2,
        "throttled": 1,
    }


def test_a_basic_header_that_cannot_be_read_counts_as_a_failed_authentication(endpoint):
    before = outcomes()

    response = APIClient().get(endpoint, HTTP_AUTHORIZATION="Basic !!!")

    assert response.status_code == 401
    assert delta(before, outcomes()) == {"authentication_failed": 1}


def test_requests_are_counted_by_url_name_method_and_status_with_their_duration(endpoint, key_pair):
    key, secret = key_pair
    labels = {"route": "api:environment-detail", "method": "GET"}
    before = sample("envkeys_http_requests_total", status="200", **labels)
    observed = sample("envkeys_http_request_duration_seconds_count", **labels)

    assert get(endpoint, key.access_key, secret).status_code == 200

    assert sample("envkeys_http_requests_total", status="200", **labels) == before + 1
    assert sample("envkeys_http_request_duration_seconds_count", **labels) == observed + 1


def test_an_unknown_url_and_an_unknown_method_take_no_label_from_the_client():
    before = sample("envkeys_http_requests_total", route="unresolved", method="other", status="404")

    response = APIClient().generic("BREW", "/no-such-page-at-all/")

    assert response.status_code == 404
    assert sample("envkeys_http_requests_total", route="unresolved", method="other", status="404") == before + 1
    assert "/no-such-page-at-all/" not in str(scrape())


def test_last_used_writes_are_counted_written_then_not_due_then_skipped_when_another_wrote_first(endpoint, key_pair):
    key, secret = key_pair
    written = sample("envkeys_last_used_writes_total", result="written")
    skipped = sample("envkeys_last_used_writes_total", result="skipped")

    assert get(endpoint, key.access_key, secret).status_code == 200
    assert get(endpoint, key.access_key, secret).status_code == 200  # not due: no write, nothing counted
    assert sample("envkeys_last_used_writes_total", result="written") == written + 1
    assert sample("envkeys_last_used_writes_total", result="skipped") == skipped

    # A worker that saw the key as due after another one wrote it updates nothing: skipped.
    key.refresh_from_db()
    stale = key.last_used_at
    key.last_used_at = None
    usage.record_key_use(key=key)
    assert sample("envkeys_last_used_writes_total", result="skipped") == skipped + 1
    key.refresh_from_db()
    assert key.last_used_at == stale


def test_audit_events_are_counted_by_action_once_committed(
    environment, endpoint, key_pair, django_capture_on_commit_callbacks
):
    created = sample("envkeys_audit_events_total", action="apikey.created")
    refused = sample("envkeys_audit_events_total", action="auth.refused")

    with django_capture_on_commit_callbacks() as uncommitted:
        services.create_api_key(environment=environment, name="audited", actor=SYSTEM)
    # Not counted before the transaction commits (a rolled-back change writes no event).
    assert sample("envkeys_audit_events_total", action="apikey.created") == created
    for callback in uncommitted:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        get(endpoint, key_pair[0].access_key, "wrong")

    assert sample("envkeys_audit_events_total", action="apikey.created") == created + 1
    assert sample("envkeys_audit_events_total", action="auth.refused") == refused + 1


def test_a_cache_error_in_a_counter_is_counted_and_the_counter_fails_open():
    before = sample("envkeys_cache_errors_total")

    with mock.patch.object(cache, "incr", side_effect=ConnectionError("cache unreachable (simulated)")):
        assert counters.increment("metrics-test", timeout=60) == 0

    assert sample("envkeys_cache_errors_total") == before + 1


def test_the_readiness_probe_counts_a_cache_it_cannot_reach(client):
    before = sample("envkeys_cache_errors_total")

    with mock.patch.object(cache, "get", side_effect=ConnectionError("cache unreachable (simulated)")):
        response = client.get("/readyz")

    assert response.json()["cache"] == "unavailable"
    assert sample("envkeys_cache_errors_total") == before + 1


def test_a_missing_counter_is_not_a_cache_error():
    before = sample("envkeys_cache_errors_total")

    assert counters.increment("metrics-test-new", timeout=60) == 1
    assert counters.read("metrics-test-absent") == 0

    assert sample("envkeys_cache_errors_total") == before


def test_a_database_unavailable_answer_is_counted(endpoint, key_pair):
    key, secret = key_pair
    before = sample("envkeys_database_unavailable_total")
    client = APIClient(raise_request_exception=False)

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection unexpectedly (simulated)")

    with mock.patch.object(connection, "create_cursor", refuse):
        response = client.get(endpoint, HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))

    assert response.status_code == 503
    assert sample("envkeys_database_unavailable_total") == before + 1


def test_key_counts_by_state_are_reported_and_counted_again_only_after_their_time(
    settings, environment, key_pair, clock
):
    settings.METRICS_KEY_COUNTS_SECONDS = 3600
    metrics._state_counts[0]._taken = float("-inf")
    inactive, _ = services.create_api_key(environment=environment, name="off")
    services.deactivate_api_key(key=inactive)
    services.create_api_key(environment=environment, name="soon", expires_at=clock.now + datetime.timedelta(hours=1))
    clock.advance(hours=2)

    first = scrape()
    services.create_api_key(environment=environment, name="later")
    with CaptureQueriesContext(connection) as queries:
        second = scrape()

    states = {state: first[("envkeys_api_keys", (("state", state),))] for state in ("active", "expired", "inactive")}
    assert states == {"active": 1, "expired": 1, "inactive": 1}
    # Kept for METRICS_KEY_COUNTS_SECONDS: the second scrape asks the database nothing.
    assert len(queries) == 0
    assert second[("envkeys_api_keys", (("state", "active"),))] == 1


def test_metrics_are_answered_to_loopback_by_default_and_404_to_anyone_else(settings):
    assert APIClient().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert APIClient().get("/metrics", REMOTE_ADDR="::1").status_code == 200

    response = APIClient().get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 404
    assert b"envkeys_" not in response.content


@pytest.mark.parametrize(
    ("allowed", "address", "status"),
    [
        pytest.param(["10.0.0.0/8"], "10.20.30.40", 200, id="address-in-an-allowed-network"),
        pytest.param(["10.0.0.0/8"], "127.0.0.1", 404, id="loopback-no-longer-listed"),
        pytest.param([], "127.0.0.1", 404, id="no-address-allowed"),
    ],
)
def test_metrics_follow_the_allowed_addresses_setting(settings, allowed, address, status):
    settings.METRICS_ALLOWED_ADDRESSES = allowed

    assert APIClient().get("/metrics", REMOTE_ADDR=address).status_code == status


def test_metrics_behind_a_trusted_proxy_judge_the_forwarded_client_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    outside = APIClient().get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert outside.status_code == 404


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        pytest.param("Bearer s3cr3t-scrape-token", 200, id="right-token"),
        pytest.param("bearer s3cr3t-scrape-token", 200, id="scheme-in-lower-case"),
        pytest.param("Bearer wrong-token", 404, id="wrong-token"),
        pytest.param("Basic czNjcjN0LXNjcmFwZS10b2tlbg==", 404, id="basic-instead-of-bearer"),
        pytest.param("", 404, id="no-header"),
    ],
)
def test_metrics_with_a_bearer_token_setting(settings, authorization, status):
    settings.METRICS_BEARER_TOKEN = "s3cr3t-scrape-token"
    settings.METRICS_ALLOWED_ADDRESSES = []

    response = APIClient().get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION=authorization)

    assert response.status_code == status


def test_no_access_key_ever_becomes_a_label_value(endpoint, key_pair):
    key, secret = key_pair
    get(endpoint, key.access_key, secret)
    get(endpoint, key.access_key, "wrong")

    exposition = APIClient().get("/metrics").content.decode()

    assert key.access_key not in exposition
    assert secret not in exposition

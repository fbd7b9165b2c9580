"""/healthz and /readyz: no authentication, never throttled or counted as refused, cheap."""

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from common import metrics, probes

pytestmark = pytest.mark.django_db


def outcomes() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value("envkeys_key_authentications_total", {"outcome": outcome}) or 0.0
        for outcome in metrics.KEY_OUTCOMES
    }


def test_liveness_answers_200_json_without_touching_the_database_or_the_cache(django_assert_num_queries):
    with django_assert_num_queries(0), mock.patch.object(cache, "get", side_effect=AssertionError("cache read")):
        response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readiness_answers_200_when_the_database_answers():
    response = APIClient().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "cache": "ok"}


def test_readiness_stays_200_and_says_so_when_the_cache_cannot_be_reached():
    with mock.patch.object(cache, "get", side_effect=ConnectionError("cache unreachable (simulated)")):
        response = APIClient().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "cache": "unavailable"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_ignore_credentials_are_never_throttled_and_never_count_as_refusals(settings, path):
    settings.AUTH_FAILURE_RATE_PER_ADDRESS = "1/day"
    before = outcomes()

    statuses = [
        APIClient().get(path, HTTP_AUTHORIZATION="Basic d3Jvbmc6d3Jvbmc=", REMOTE_ADDR="203.0.113.7").status_code
        for _ in range(5)
    ]

    assert statuses == [200] * 5
    assert outcomes() == before


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "trace"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_other_methods_a_json_405_never_a_csrf_page(path, method):
    # A browser-like client: Django's CSRF check is enforced, as for any request off the test client.
    response = getattr(Client(enforce_csrf_checks=True), method)(path)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["get", "post"])
def test_metrics_are_404_to_a_client_that_may_not_scrape_whatever_the_method(settings, method):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]

    response = getattr(Client(enforce_csrf_checks=True), method)("/metrics")

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/", "/accounts/login/"])
def test_a_host_that_is_not_allowed_gets_400_not_an_error_page_that_fails(path):
    response = Client().get(path, HTTP_HOST="evil.example.com")

    assert response.status_code == 400


def test_readiness_warns_once_a_minute_while_the_database_does_not_answer(caplog, monkeypatch):
    monkeypatch.setattr(probes, "_last_warning", float("-inf"))
    with mock.patch.object(probes.connections, "create_connection", side_effect=OSError("refused (simulated)")):
        statuses = [APIClient().get("/readyz").status_code for _ in range(3)]

    assert statuses == [503, 503, 503]
    warnings = [record for record in caplog.records if record.name == "envkeys.probes"]
    assert len(warnings) == 1
    # Django's own "Service Unavailable: /readyz" line is left out too: one line, not one per probe.
    assert not [record for record in caplog.records if record.name == "django.request"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_answered_over_plain_http_even_when_https_is_enforced(settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert APIClient().get(path).status_code == 200
    assert APIClient().get("/api/v1/").status_code == 301

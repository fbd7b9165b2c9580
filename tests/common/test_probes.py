"""/healthz and /readyz: no authentication, never throttled or counted as refused, cheap."""

from unittest import mock

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from common import metrics

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


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_answer_only_safe_methods(path):
    assert APIClient().post(path).status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_are_answered_over_plain_http_even_when_https_is_enforced(settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert APIClient().get(path).status_code == 200
    assert APIClient().get("/api/v1/").status_code == 301

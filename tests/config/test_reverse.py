"""The templated reverse gives exactly what DRF's reverse gives."""

import pytest
from django.urls import NoReverseMatch, set_script_prefix
from rest_framework.request import Request
from rest_framework.reverse import reverse as drf_reverse
from rest_framework.test import APIRequestFactory

from config.reverse import reverse

ROUTES = [
    pytest.param("api:environment-detail", {"pk": 7}, id="environment"),
    pytest.param("api:apikey-list", {"environment_pk": 7}, id="key-list"),
    pytest.param("api:apikey-detail", {"environment_pk": 7, "pk": 123456}, id="key"),
    pytest.param("api:apikey-deactivate", {"environment_pk": 1, "pk": 2}, id="deactivate"),
    pytest.param("api:apikey-activate", {"environment_pk": 10, "pk": 0}, id="activate"),
    pytest.param("api:member-detail", {"environment_pk": 3, "pk": 4}, id="member"),
    pytest.param("api:environment-list", {}, id="no-ids"),
]


def _request(path="/api/v1/", **extra):
    return Request(APIRequestFactory().get(path, **extra))


@pytest.mark.parametrize(("viewname", "kwargs"), ROUTES)
def test_templated_reverse_matches_drf_for_absolute_and_relative_urls(viewname, kwargs, settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    request = _request(HTTP_HOST="api.example.com", secure=True)
    assert reverse(viewname, kwargs=kwargs, request=request) == drf_reverse(viewname, kwargs=kwargs, request=request)
    assert reverse(viewname, kwargs=kwargs) == drf_reverse(viewname, kwargs=kwargs)


def test_templated_reverse_follows_the_script_prefix():
    try:
        set_script_prefix("/envkeys/")
        assert reverse("api:environment-detail", kwargs={"pk": 5}) == "/envkeys/api/v1/environments/5/"
    finally:
        set_script_prefix("/")
    assert reverse("api:environment-detail", kwargs={"pk": 5}) == "/api/v1/environments/5/"


def test_format_override_in_the_query_is_kept_on_links_like_drf_does():
    request = _request("/api/v1/?format=json")
    url = reverse("api:environment-detail", kwargs={"pk": 5}, request=request)
    assert url == drf_reverse("api:environment-detail", kwargs={"pk": 5}, request=request)
    assert url.endswith("?format=json")


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"pk": -1}, id="negative"),
        pytest.param({"pk": "abc"}, id="not-a-number"),
        pytest.param({"pk": True}, id="bool"),
        pytest.param({"nope": 1}, id="unknown-keyword"),
    ],
)
def test_values_the_route_does_not_accept_raise_like_drf(kwargs):
    with pytest.raises(NoReverseMatch):
        drf_reverse("api:environment-detail", kwargs=kwargs)
    with pytest.raises(NoReverseMatch):
        reverse("api:environment-detail", kwargs=kwargs)

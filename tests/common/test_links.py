"""Links reverse each collection once and append ids: the URLs are exactly DRF's ``reverse``."""

import pytest
from django.urls import set_script_prefix
from rest_framework.request import Request
from rest_framework.reverse import reverse as drf_reverse
from rest_framework.test import APIRequestFactory

from common.api import links as links_module
from common.api.links import Links, links_for

# (collection route, its kwargs, id, path below the item, the route DRF reverses for the same URL)
ROUTES = [
    pytest.param("api:environment-list", {}, 7, (), "api:environment-detail", {"pk": 7}, id="environment"),
    pytest.param(
        "api:environment-list", {}, 7, ("apikeys",), "api:apikey-list", {"environment_pk": 7}, id="environment-keys"
    ),
    pytest.param(
        "api:environment-list", {}, 7, ("members",), "api:member-list", {"environment_pk": 7}, id="environment-members"
    ),
    pytest.param(
        "api:environment-list", {}, 7, ("events",), "api:event-list", {"environment_pk": 7}, id="environment-events"
    ),
    pytest.param(
        "api:apikey-list",
        {"environment_pk": 7},
        123456,
        (),
        "api:apikey-detail",
        {"environment_pk": 7, "pk": 123456},
        id="key",
    ),
    pytest.param(
        "api:apikey-list",
        {"environment_pk": 1},
        2,
        ("deactivate",),
        "api:apikey-deactivate",
        {"environment_pk": 1, "pk": 2},
        id="deactivate",
    ),
    pytest.param(
        "api:apikey-list",
        {"environment_pk": 10},
        0,
        ("activate",),
        "api:apikey-activate",
        {"environment_pk": 10, "pk": 0},
        id="activate",
    ),
    pytest.param(
        "api:member-list",
        {"environment_pk": 3},
        4,
        (),
        "api:member-detail",
        {"environment_pk": 3, "pk": 4},
        id="member",
    ),
    pytest.param(
        "api:event-list", {"environment_pk": 3}, 9, (), "api:event-detail", {"environment_pk": 3, "pk": 9}, id="event"
    ),
]


def _request(path="/api/v1/", **extra):
    return Request(APIRequestFactory().get(path, **extra))


@pytest.mark.parametrize(("collection", "kwargs", "pk", "path", "viewname", "drf_kwargs"), ROUTES)
@pytest.mark.parametrize("query", ["", "?format=json"], ids=["plain", "format-override"])
def test_an_item_link_is_the_url_drf_reverses_for_it(
    settings, collection, kwargs, pk, path, viewname, drf_kwargs, query
):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    request = _request("/api/v1/" + query, HTTP_HOST="api.example.com", secure=True)

    url = Links(request).item(collection, pk, *path, **kwargs)

    assert url == drf_reverse(viewname, kwargs=drf_kwargs, request=request)
    assert url.startswith("https://api.example.com/api/v1/")
    assert url.endswith("/" + query)


def test_links_follow_the_script_prefix():
    try:
        set_script_prefix("/envkeys/")
        assert Links(_request()).item("api:environment-list", 5) == "http://testserver/envkeys/api/v1/environments/5/"
    finally:
        set_script_prefix("/")


def test_each_collection_is_reversed_once_per_request(monkeypatch):
    calls = []

    def counting_reverse(*args, **kwargs):
        calls.append(args[0])
        return drf_reverse(*args, **kwargs)

    monkeypatch.setattr(links_module, "reverse", counting_reverse)
    request = _request()
    for pk in range(50):
        links_for(request).item("api:apikey-list", pk, environment_pk=1)
        links_for(request).item("api:environment-list", 1)

    assert sorted(calls) == ["api:apikey-list", "api:environment-list"]
    assert links_for(request) is links_for(request)
    assert links_for(_request()) is not links_for(request)

"""A database that cannot be reached is answered 503 (JSON under /api/), never a 500 page or a hang."""

import socket
from contextlib import contextmanager
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apikeys import crypto
from common.api.errors import DATABASE_UNAVAILABLE
from tests.support.auth import basic_auth

UNAVAILABLE = {"code": "database_unavailable", "detail": DATABASE_UNAVAILABLE}


@contextmanager
def database_down():
    """Make every query fail the way a lost database connection does."""

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("server closed the connection unexpectedly (simulated)")

    with mock.patch.object(connection, "create_cursor", refuse):
        yield


def touch_database_middleware(get_response):
    """A middleware that reads the database before any view runs, outside DRF's exception handler."""

    def middleware(request):
        get_user_model().objects.exists()
        return get_response(request)

    return middleware


def broken_middleware(get_response):
    """A middleware that fails for a reason that has nothing to do with the database."""

    def middleware(request):
        raise RuntimeError("not a database problem")

    return middleware


def _assert_unavailable_json(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == UNAVAILABLE
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_key_request_is_answered_503_json_when_the_key_cannot_be_looked_up(environment, key_pair):
    key, secret = key_pair
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))

    with database_down():
        response = client.get(f"/api/v1/environments/{environment.pk}/")

    _assert_unavailable_json(response)


@pytest.mark.django_db
def test_signed_in_request_is_answered_503_json_when_the_session_cannot_be_loaded(environment, owner):
    client = APIClient(raise_request_exception=False)
    client.force_login(owner)

    with database_down():
        response = client.get("/api/v1/environments/")

    _assert_unavailable_json(response)


@pytest.mark.django_db
@override_settings(ACCESS_CONTROL=False)
def test_anonymous_request_is_answered_503_json_when_the_view_cannot_read(environment):
    client = APIClient(raise_request_exception=False)

    with database_down():
        response = client.get("/api/v1/environments/")

    _assert_unavailable_json(response)


@pytest.mark.django_db
def test_database_failure_in_middleware_is_answered_503_json(settings, environment, key_pair):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.touch_database_middleware"]
    key, secret = key_pair
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))

    with database_down():
        response = client.get(f"/api/v1/environments/{environment.pk}/")

    _assert_unavailable_json(response)


@pytest.mark.django_db
def test_page_outside_the_api_is_answered_with_a_503_page(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)

    with database_down():
        response = client.get("/admin/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Service unavailable" in response.content
    assert response["Retry-After"] == "5"


@pytest.mark.django_db
def test_other_server_errors_stay_500(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.broken_middleware"]
    response = APIClient(raise_request_exception=False).get("/api/v1/")

    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "detail": "Internal server error."}


@contextmanager
def silent_database_server():
    """Yield the port of a server that accepts connections and never answers (a hung database)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def _random_key_pair() -> tuple[str, str]:
    return crypto.generate_access_key(), crypto.generate_secret_key()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["closed-port", "never-answers"])
def test_real_server_answers_503_when_postgresql_is_unreachable(server_factory, database):
    """gunicorn with PostgreSQL gone (connection refused) or hung (accepts, never answers): 503, no hang.

    The hung server is what DATABASE_CONNECT_TIMEOUT is for: without it the request would wait
    forever, and the client's own timeout would fail this test.
    """
    with silent_database_server() as port:
        if database == "closed-port":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        server = server_factory(
            env={
                "DATABASE_URL": f"postgres://envkeys:unused@127.0.0.1:{port}/envkeys",
                "DATABASE_CONNECT_TIMEOUT": "2",
            }
        )
        api = server.request("GET", "/api/v1/environments/", auth=_random_key_pair())
        page = server.request("GET", "/admin/", headers={"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})

    assert api.status == 503, api.body
    assert api.json() == UNAVAILABLE
    assert api.headers["Retry-After"] == "5"
    assert page.status == 503, page.body
    assert b"Service unavailable" in page.body

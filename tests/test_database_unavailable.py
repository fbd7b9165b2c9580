"""A database that cannot be reached is answered 503 (JSON under /api/), never a 500 page or a hang."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apikeys import crypto
from common.api.errors import DATABASE_UNAVAILABLE
from tests.support import engines
from tests.support.auth import basic_auth
from tests.support.processes import PostgreSQLServer, server_directory

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


@pytest.fixture(scope="module")
def own_postgresql():
    """A PostgreSQL server of these tests' own, migrated, with one environment and key: ``(server, key pair, id)``."""
    engines.require_postgresql()
    directory = server_directory()
    server = PostgreSQLServer(directory)
    try:
        server.start()
        env = {"DATABASE_URL": server.url, "SECRET_KEY": "only-for-this-test-" + "x" * 40}
        run_django(["manage.py", "migrate", "--noinput"], env)
        run_django(["manage.py", "createenvironment", "frozen"], env)
        created = json.loads(run_django(["manage.py", "createapikey", "--environment", "frozen", "--json"], env))
        yield server, (created["access_key"], created["secret_key"]), created["environment_id"]
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def run_django(args: list[str], env: dict) -> str:
    """Run manage.py with the production settings and only ``env``; return its output."""
    variables = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    variables.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=variables, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("conn_max_age", ["60", "0"])
def test_real_server_answers_503_within_the_connect_timeout_while_postgresql_is_paused(
    server_factory, own_postgresql, conn_max_age
):
    """kill -STOP of a warm PostgreSQL: its kernel still accepts TCP, its processes never answer.

    With CONN_MAX_AGE=60 the request reuses a connection whose health check used to wait forever
    (gunicorn killed the worker after 30 s). Now every request is answered 503 within about
    DATABASE_CONNECT_TIMEOUT (plus at most the 1 s health check), and the next request after
    kill -CONT is served again by the same server.
    """
    database, pair, environment_id = own_postgresql
    connect_timeout = 2
    server = server_factory(
        env={
            "DATABASE_URL": database.url,
            "DATABASE_CONNECT_TIMEOUT": str(connect_timeout),
            "CONN_MAX_AGE": conn_max_age,
        }
    )
    endpoint = f"/api/v1/environments/{environment_id}/"
    warm = [server.request("GET", endpoint, auth=pair).status for _ in range(2)]

    database.pause()
    try:
        answers = []
        for path, headers in ((endpoint, {}), (endpoint, {}), ("/admin/", {"Cookie": "sessionid=" + "a" * 32})):
            started = time.monotonic()
            reply = server.request("GET", path, auth=pair if path == endpoint else None, headers=headers)
            answers.append((reply, time.monotonic() - started))
    finally:
        database.resume()
    recovered = server.request("GET", endpoint, auth=pair)

    assert warm == [200, 200], server.log_tail()
    print([f"{reply.status} in {seconds:.2f} s" for reply, seconds in answers])
    (first, _), (second, _), (page, _) = answers
    assert first.status == second.status == 503, server.log_tail()
    assert first.json() == second.json() == UNAVAILABLE
    assert first.headers["Retry-After"] == second.headers["Retry-After"] == "5"
    assert page.status == 503
    assert b"Service unavailable" in page.body
    # The connect timeout, at most 1 s of health check, and room for a loaded machine; never
    # gunicorn's 30 s worker timeout.
    assert max(seconds for _, seconds in answers) < connect_timeout + 1 + 3
    assert recovered.status == 200, recovered.body

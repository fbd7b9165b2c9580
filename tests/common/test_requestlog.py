"""Request ids, the request log line and JSON logs."""

import io
import json
import logging
import re

import pytest
from rest_framework.test import APIClient

from common.requestlog import JsonFormatter, RequestContextFilter, note_access_key
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}\Z")


@pytest.fixture
def json_log():
    """Send every record to a JSON handler configured as LOG_FORMAT=json does; return its output."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    saved = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved)


def lines(stream: io.StringIO) -> list[dict]:
    """Return the JSON objects written, one per line (every line must parse)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_response_carries_a_new_request_id():
    first = APIClient().get("/healthz")
    second = APIClient().get("/api/v1/")

    assert GENERATED.match(first["X-Request-Id"])
    assert GENERATED.match(second["X-Request-Id"])
    assert first["X-Request-Id"] != second["X-Request-Id"]


def test_a_request_id_from_the_client_is_ignored_without_a_trusted_proxy():
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="chosen-by-the-client")

    assert GENERATED.match(response["X-Request-Id"])


def test_a_trusted_proxy_request_id_is_kept(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="4f1c2a9e-proxy.id:1")

    assert response["X-Request-Id"] == "4f1c2a9e-proxy.id:1"


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("two words", id="space"),
        pytest.param("line\nbreak", id="newline"),
        pytest.param("x" * 129, id="too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_a_malformed_proxy_request_id_is_replaced(settings, incoming):
    settings.TRUSTED_PROXY_COUNT = 1

    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=incoming)

    assert GENERATED.match(response["X-Request-Id"])


def test_a_key_request_logs_one_json_line_with_its_request_id_and_access_key_never_its_secret(
    json_log, environment, key_pair
):
    key, secret = key_pair
    path = f"/api/v1/environments/{environment.pk}/"

    response = APIClient().get(path, HTTP_AUTHORIZATION=basic_auth(key.access_key, secret), REMOTE_ADDR="198.51.100.2")

    request_lines = [line for line in lines(json_log) if line["logger"] == "envkeys.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "access_key",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "client",
    }
    assert line["request_id"] == response["X-Request-Id"]
    assert line["access_key"] == key.access_key
    assert (line["level"], line["method"], line["path"], line["route"], line["status"], line["client"]) == (
        "INFO",
        "GET",
        path,
        "api:environment-detail",
        200,
        "198.51.100.2",
    )
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00\Z", line["time"])
    text = json_log.getvalue()
    assert secret not in text
    assert key.secret_hash.partition("$")[2] not in text
    assert "Basic" not in text


def test_a_refused_key_is_logged_with_its_access_key_but_a_secret_typed_as_access_key_is_not(
    json_log, environment, key_pair
):
    key, secret = key_pair
    path = f"/api/v1/environments/{environment.pk}/"
    APIClient().get(path, HTTP_AUTHORIZATION=basic_auth(key.access_key, "wrong"))
    APIClient().get(path, HTTP_AUTHORIZATION=basic_auth(secret, key.access_key))

    refused, swapped = [line for line in lines(json_log) if line["logger"] == "envkeys.request"]

    assert (refused["status"], refused["access_key"]) == (401, key.access_key)
    assert swapped["status"] == 401 and "access_key" not in swapped
    assert secret not in json_log.getvalue()


def test_the_json_formatter_writes_only_its_fields_whatever_a_record_carries():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    record = logging.makeLogRecord(
        {
            "name": "django.db.backends",
            "levelno": logging.DEBUG,
            "levelname": "DEBUG",
            "msg": "(0.001) UPDATE ...",
            "params": ("sha256$digest-in-sql-parameters",),
            "request": {"HTTP_AUTHORIZATION": "Basic c2VjcmV0"},
        }
    )

    handler.handle(record)

    line = json.loads(stream.getvalue())
    assert line == {
        "time": line["time"],
        "level": "DEBUG",
        "logger": "django.db.backends",
        "message": "(0.001) UPDATE ...",
        "request_id": "-",
    }


def test_probes_are_counted_but_not_logged_line_by_line(json_log):
    APIClient().get("/healthz")
    APIClient().get("/readyz")

    assert [line for line in lines(json_log) if line["logger"] == "envkeys.request"] == []


def test_request_lines_can_be_turned_off(settings, json_log):
    settings.LOG_REQUESTS = False

    APIClient().get("/api/v1/")

    assert [line for line in lines(json_log) if line["logger"] == "envkeys.request"] == []


def test_an_access_key_noted_outside_a_request_labels_no_later_record():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())

    note_access_key("EKABCDEFGH0123456789")
    handler.handle(logging.makeLogRecord({"name": "envkeys", "msg": "later", "levelname": "INFO"}))

    assert "access_key" not in json.loads(stream.getvalue())


def test_a_path_cannot_write_a_line_of_its_own_into_a_text_log(json_log):
    forged = "2026-12-01 00:00:00,000 INFO envkeys.request [0000] DELETE /api/v1/environments/1/ 204 1.0ms"

    APIClient().get("/api/x%0a" + forged.replace(" ", "%20") + "%0d%0aagain")

    (line,) = [line for line in lines(json_log) if line["logger"] == "envkeys.request"]
    assert "\n" not in line["message"] and "\r" not in line["message"]
    assert line["message"].startswith("GET /api/x\\x0a2026-12-01")
    assert "\\x0d\\x0aagain" in line["path"]

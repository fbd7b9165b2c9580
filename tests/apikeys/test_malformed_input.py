"""Malformed input never causes a 500: each bad header or body gets its exact 4xx and a JSON error.

Header values carry arbitrary bytes as a WSGI server passes them: a str decoded as latin-1
(PEP 3333), so "\\xff" below is the byte 0xff on the wire. A server joins repeated headers with a
comma (gunicorn and wsgiref both do), so two Authorization headers arrive as "A,B".
"""

import base64
import json

import pytest
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from environments.models import Environment, Membership

ENV = "/api/v1/environments/{env}/"
KEYS = "/api/v1/environments/{env}/apikeys/"
KEY = "/api/v1/environments/{env}/apikeys/{key}/"
MEMBERS = "/api/v1/environments/{env}/members/"
MEMBER = "/api/v1/environments/{env}/members/{member}/"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def latin1(raw: bytes) -> str:
    """Return the str a WSGI server puts in the environ for these header bytes."""
    return raw.decode("latin-1")


# The Authorization value, with {pair} standing for the valid key pair's base64 credentials.
HEADERS = [
    pytest.param("Basic " + b64(b"EKNOCOLON0000000000"), 401, "authentication_failed", id="no-colon"),
    pytest.param("Basic " + b64(b":envk"), 401, "authentication_failed", id="empty-access-key"),
    pytest.param("Basic " + b64(b"EK000000000000000000:"), 401, "authentication_failed", id="empty-secret"),
    pytest.param("Basic " + b64(b":"), 401, "authentication_failed", id="both-parts-empty"),
    pytest.param("Basic ", 401, "authentication_failed", id="scheme-without-credentials"),
    pytest.param("Basic", 401, "authentication_failed", id="bare-scheme"),
    pytest.param("Basic ***not-base64***", 401, "authentication_failed", id="not-base64"),
    pytest.param("Basic YWJj=", 401, "authentication_failed", id="bad-base64-padding"),
    pytest.param("Basic " + b64(b"EK:x").replace("=", "") + "-_", 401, "authentication_failed", id="urlsafe-base64"),
    pytest.param(latin1("Basic é".encode()), 401, "authentication_failed", id="non-ascii-utf8-bytes-in-header"),
    pytest.param(latin1(b"Basic \xff\xfe\xfd\xfc"), 401, "authentication_failed", id="invalid-utf8-bytes-in-header"),
    pytest.param("Basic " + b64(b"EK\xff\xfe:\xc3\x28"), 401, "authentication_failed", id="invalid-utf8-credentials"),
    pytest.param("Basic " + b64("EKÉÉ:sécret".encode()), 401, "authentication_failed", id="non-ascii-credentials"),
    pytest.param("Basic \x00", 401, "authentication_failed", id="nul-byte-in-header"),
    pytest.param("Basic " + b64(b"EK000000000000000000\x00:envk\x00"), 401, "authentication_failed", id="nul-in-creds"),
    pytest.param("Basic " + "A" * 10240, 401, "authentication_failed", id="10kb-header"),
    pytest.param("Basic " + b64(b"EK" + b"0" * 18 + b":" + b"x" * 7600), 401, "authentication_failed", id="10kb-pair"),
    pytest.param("Basic {pair},Basic {pair}", 401, "authentication_failed", id="two-authorization-headers"),
    pytest.param("Basic {pair}, Basic {pair}", 401, "authentication_failed", id="two-headers-with-space"),
    pytest.param("Basic {pair} {pair}", 401, "authentication_failed", id="two-credentials"),
    pytest.param("Bearer {pair}", 401, "not_authenticated", id="bearer-scheme"),
    pytest.param('Digest username="EK", realm="envkeys"', 401, "not_authenticated", id="digest-scheme"),
    pytest.param("Token abc", 401, "not_authenticated", id="token-scheme"),
    pytest.param("{pair}", 401, "not_authenticated", id="credentials-without-scheme"),
    pytest.param("", 401, "not_authenticated", id="empty-header"),
    pytest.param("basic {pair}", 200, None, id="lowercase-basic-is-valid"),
    pytest.param("BASIC {pair}", 200, None, id="uppercase-basic-is-valid"),
    pytest.param("Basic    {pair}", 200, None, id="extra-spaces-after-scheme"),
    pytest.param("  Basic {pair}  ", 200, None, id="spaces-around-header"),
    pytest.param("Basic " + b64(b"ek000000000000000000:envk"), 401, "authentication_failed", id="lowercase-key"),
]


@pytest.mark.parametrize(("authorization", "status", "code"), HEADERS)
def test_a_malformed_authorization_header_gets_its_exact_answer(key_pair, environment, authorization, status, code):
    key, secret = key_pair
    pair = b64(f"{key.access_key}:{secret}".encode())
    client = APIClient()
    response = client.get(ENV.format(env=environment.pk), HTTP_AUTHORIZATION=authorization.replace("{pair}", pair))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if code is not None:
        assert response.json()["code"] == code
        assert response["WWW-Authenticate"] == 'Basic realm="envkeys", charset="UTF-8"'


def js(value) -> dict:
    """A JSON request body."""
    return {"data": json.dumps(value), "content_type": "application/json"}


def raw(data, content_type="application/json") -> dict:
    """A request body sent as it is."""
    return {"data": data, "content_type": content_type}


def bad(id, who, method, url, body, status, code, field=None):
    """One row: ``who`` is "key" (production's read-write key) or "owner" (signed in); ``field`` is
    where the error is reported, if anywhere."""
    return pytest.param(who, method, url, body, status, code, field, id=id)


ENVS = "/api/v1/environments/"
HUGE = "9" * 30
TOO_BIG = js({"name": "x", "description": "y" * (64 * 1024)})

# fmt: off
BODIES = [
    # Bodies that are not JSON objects.
    bad("wrong-content-type", "key", "post", KEYS, raw("name=x", "text/plain"), 415, "unsupported_media_type"),
    bad("xml-content-type", "key", "post", KEYS, raw("<name/>", "application/xml"), 415, "unsupported_media_type"),
    bad("invalid-json", "key", "post", KEYS, raw('{"name": "x"'), 400, "parse_error"),
    bad("invalid-utf8-json", "key", "post", KEYS, raw(b'{"name": "\xff"}'), 400, "parse_error"),
    bad("json-nan", "key", "post", KEYS, raw('{"name": NaN}'), 400, "parse_error"),
    bad("deeply-nested-json", "key", "post", KEYS, raw("[" * 20000 + "]" * 20000), 400, "parse_error"),
    bad("huge-json", "key", "post", KEYS, TOO_BIG, 413, "request_too_large"),
    bad("json-array", "key", "post", KEYS, js(["name"]), 400, "invalid", "non_field_errors"),
    bad("json-string", "key", "post", KEYS, js("name"), 400, "invalid", "non_field_errors"),
    bad("json-null", "key", "post", KEYS, raw("null"), 400, "null", "non_field_errors"),
    # Key create: wrong types for every field, unknown and read-only fields.
    bad("create-key-name-number", "key", "post", KEYS, js({"name": 123}), 400, "invalid", "name"),
    bad("create-key-name-list", "key", "post", KEYS, js({"name": ["x"]}), 400, "invalid", "name"),
    bad("create-key-name-null", "key", "post", KEYS, js({"name": None}), 400, "null", "name"),
    bad("create-key-name-too-long", "key", "post", KEYS, js({"name": "x" * 101}), 400, "max_length", "name"),
    bad("create-key-description-object", "key", "post", KEYS, js({"description": {}}), 400, "invalid", "description"),
    bad("create-key-description-bool", "key", "post", KEYS, js({"description": True}), 400, "invalid", "description"),
    bad("create-key-permission-unknown", "key", "post", KEYS, js({"permission": "admin"}),
        400, "invalid_choice", "permission"),
    bad("create-key-permission-number", "key", "post", KEYS, js({"permission": 1}),
        400, "invalid_choice", "permission"),
    bad("create-key-expiry-number", "key", "post", KEYS, js({"expires_at": 1700000000}), 400, "invalid", "expires_at"),
    bad("create-key-expiry-text", "key", "post", KEYS, js({"expires_at": "tomorrow"}), 400, "invalid", "expires_at"),
    bad("create-key-expiry-past", "key", "post", KEYS, js({"expires_at": "2001-01-01T00:00:00Z"}),
        400, "invalid", "expires_at"),
    bad("create-key-unknown-field", "key", "post", KEYS, js({"colour": "red"}), 400, "unknown_field", "colour"),
    bad("create-key-access-key", "key", "post", KEYS, js({"access_key": "EK0"}), 400, "read_only_field", "access_key"),
    bad("create-key-state", "key", "post", KEYS, js({"state": "inactive"}), 400, "read_only_field", "state"),
    # Key edit.
    bad("edit-key-name-number", "key", "patch", KEY, js({"name": 5}), 400, "invalid", "name"),
    bad("edit-key-description-list", "key", "patch", KEY, js({"description": []}), 400, "invalid", "description"),
    bad("replace-key-name-bool", "key", "put", KEY, js({"name": False}), 400, "invalid", "name"),
    bad("edit-key-permission", "key", "patch", KEY, js({"permission": "read-only"}),
        400, "read_only_field", "permission"),
    bad("edit-key-expiry", "key", "patch", KEY, js({"expires_at": None}), 400, "read_only_field", "expires_at"),
    bad("edit-key-unknown-field", "key", "patch", KEY, js({"owner": "me"}), 400, "unknown_field", "owner"),
    # Environment create and edit.
    bad("create-environment-name-number", "owner", "post", ENVS, js({"name": 7}), 400, "invalid", "name"),
    bad("create-environment-name-null", "owner", "post", ENVS, js({"name": None}), 400, "null", "name"),
    bad("create-environment-name-blank", "owner", "post", ENVS, js({"name": "  "}), 400, "blank", "name"),
    bad("create-environment-name-missing", "owner", "post", ENVS, js({"description": "x"}), 400, "required", "name"),
    bad("create-environment-description-number", "owner", "post", ENVS, js({"name": "qa", "description": 1.5}),
        400, "invalid", "description"),
    bad("create-environment-unknown-field", "owner", "post", ENVS, js({"name": "qa", "region": "eu"}),
        400, "unknown_field", "region"),
    bad("edit-environment-name-object", "key", "patch", ENV, js({"name": {"x": 1}}), 400, "invalid", "name"),
    bad("edit-environment-description-bool", "key", "patch", ENV, js({"description": True}),
        400, "invalid", "description"),
    bad("edit-environment-id", "key", "patch", ENV, js({"id": 99}), 400, "read_only_field", "id"),
    # Members.
    bad("add-member-username-number", "owner", "post", MEMBERS, js({"username": 5, "role": "member"}),
        400, "invalid", "username"),
    bad("add-member-role-unknown", "owner", "post", MEMBERS, js({"username": "oscar", "role": "god"}),
        400, "invalid_choice", "role"),
    bad("add-member-username-missing", "owner", "post", MEMBERS, js({"role": "member"}), 400, "required", "username"),
    bad("change-role-list", "owner", "patch", MEMBER, js({"role": ["owner"]}), 400, "invalid_choice", "role"),
    bad("change-role-unknown-field", "owner", "patch", MEMBER, js({"role": "member", "user": 1}),
        400, "unknown_field", "user"),
    # Ids that are not numbers, and other URLs that match nothing.
    bad("environment-id-text", "key", "get", ENVS + "abc/", {}, 404, "not_found"),
    bad("environment-id-decimal", "key", "get", ENVS + "1.5/", {}, 404, "not_found"),
    bad("environment-id-negative", "key", "get", ENVS + "-1/", {}, 404, "not_found"),
    bad("environment-id-huge", "key", "get", ENVS + HUGE + "/", {}, 404, "not_found"),
    bad("environment-id-nul", "key", "get", ENVS + "%00/", {}, 404, "not_found"),
    bad("key-id-text", "key", "get", KEYS + "abc/", {}, 404, "not_found"),
    bad("key-id-hex", "key", "post", KEYS + "0x1/deactivate/", {}, 404, "not_found"),
    bad("key-id-huge", "key", "get", KEYS + HUGE + "/", {}, 404, "not_found"),
    bad("member-id-text", "owner", "get", MEMBERS + "me/", {}, 404, "not_found"),
    bad("page-not-a-number", "key", "get", KEYS + "?page=abc", {}, 404, "not_found"),
    bad("put-on-a-list", "key", "put", KEYS, js({}), 405, "method_not_allowed"),
]
# fmt: on


@pytest.fixture
def clients(key_client, api_client_for, owner):
    return {"key": key_client, "owner": api_client_for(owner)}


@pytest.mark.parametrize(("who", "method", "url", "body", "status", "code", "field"), BODIES)
def test_a_malformed_request_gets_its_exact_answer_and_changes_nothing(
    clients, environment, key_pair, member, who, method, url, body, status, code, field
):
    key, _ = key_pair
    membership = Membership.objects.get(environment=environment, user=member)
    before = (Environment.objects.count(), ApiKey.objects.count(), Membership.objects.count())
    url = url.format(env=environment.pk, key=key.pk, member=membership.pk)
    response = getattr(clients[who], method)(url, **body)
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = response.json()
    assert error["code"] == code
    assert isinstance(error["detail"], str) and error["detail"]
    if field is not None:
        assert list(error["errors"]) == [field]
    assert (Environment.objects.count(), ApiKey.objects.count(), Membership.objects.count()) == before
    key.refresh_from_db()
    environment.refresh_from_db()
    assert (key.name, key.description, key.state) == ("deploy", "", "active")
    assert (environment.name, environment.description) == ("production", "Live systems")

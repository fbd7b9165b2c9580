"""The key API over HTTP: status codes, error codes, fields, actions, links and access control."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import crypto, services, usage
from apikeys.models import ApiKey, Permission, State
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

BASE = "http://testserver"


def keys_url(environment_id: int) -> str:
    return f"/api/v1/environments/{environment_id}/apikeys/"


def key_url(key: ApiKey, suffix: str = "") -> str:
    return f"/api/v1/environments/{key.environment_id}/apikeys/{key.pk}/{suffix}"


def client_with(access_key: str, secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(access_key, secret))
    return client


@pytest.fixture
def inactive_key(environment, make_key):
    key, _ = make_key(environment, name="old")
    return services.deactivate_api_key(key=key)


@pytest.fixture
def other_key(other_environment, make_key):
    """An active key of "staging", the environment nobody from "production" belongs to."""
    key, _ = make_key(other_environment, name="staging-ci")
    return key


# --- 401: no or bad credentials ---------------------------------------------------------------


def test_no_credentials_get_a_401_with_a_basic_challenge(api_client, environment):
    response = api_client.get(keys_url(environment.pk))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="envkeys", charset="UTF-8"'
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


def test_the_api_root_also_challenges_a_request_without_credentials(api_client):
    response = api_client.get("/api/v1/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="envkeys"')


def _expire(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))


def _delete(key: ApiKey) -> None:
    services.deactivate_api_key(key=key)
    services.delete_api_key(key=key)


@pytest.mark.parametrize(
    ("credentials", "code", "detail"),
    [
        pytest.param(
            lambda key, secret: (key.access_key, crypto.generate_secret_key()),
            "authentication_failed",
            usage.INVALID_CREDENTIALS,
            id="wrong-secret",
        ),
        pytest.param(
            lambda key, secret: (crypto.generate_access_key(), secret),
            "authentication_failed",
            usage.INVALID_CREDENTIALS,
            id="unknown-access-key",
        ),
        pytest.param(
            lambda key, secret: (key.access_key, secret[:-1]),
            "authentication_failed",
            usage.INVALID_CREDENTIALS,
            id="truncated-secret",
        ),
        pytest.param(
            lambda key, secret: services.deactivate_api_key(key=key) and (key.access_key, secret),
            "key_inactive",
            "This API key is inactive.",
            id="inactive",
        ),
        pytest.param(
            lambda key, secret: _expire(key) or (key.access_key, secret),
            "key_expired",
            "This API key has expired.",
            id="expired",
        ),
        pytest.param(
            lambda key, secret: _delete(key) or (key.access_key, secret),
            "authentication_failed",
            usage.INVALID_CREDENTIALS,
            id="deleted",
        ),
    ],
)
def test_a_bad_or_unusable_key_gets_a_401_with_a_stable_code(key_pair, environment, credentials, code, detail):
    key, secret = key_pair
    client = client_with(*credentials(key, secret))

    response = client.get(f"/api/v1/environments/{environment.pk}/")

    assert response.status_code == 401
    assert response.json() == {"code": code, "detail": detail}
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_a_malformed_basic_header_gets_a_401(api_client, environment):
    api_client.credentials(HTTP_AUTHORIZATION="Basic not-base64!")

    response = api_client.get(f"/api/v1/environments/{environment.pk}/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_deactivated_key_is_refused_on_the_very_next_request(key_client, key_pair, environment):
    key, _ = key_pair
    assert key_client.post(key_url(key, "deactivate/")).status_code == 200

    refused = key_client.get(f"/api/v1/environments/{environment.pk}/")

    assert refused.status_code == 401
    assert refused.json() == {"code": "key_inactive", "detail": "This API key is inactive."}
    key.refresh_from_db()
    assert key.state == State.INACTIVE


def test_a_signed_in_user_who_also_sends_a_wrong_pair_gets_a_401(api_client_for, owner, environment):
    client = api_client_for(owner)
    client.credentials(HTTP_AUTHORIZATION=basic_auth(crypto.generate_access_key(), crypto.generate_secret_key()))

    assert client.get(keys_url(environment.pk)).status_code == 401


# --- 404: another environment -----------------------------------------------------------------


def _cross_environment_requests(other_environment, other_key):
    env_url = f"/api/v1/environments/{other_environment.pk}/"
    return [
        ("get", env_url),
        ("patch", env_url),
        ("delete", env_url),
        ("get", keys_url(other_environment.pk)),
        ("post", keys_url(other_environment.pk)),
        ("get", key_url(other_key)),
        ("patch", key_url(other_key)),
        ("delete", key_url(other_key)),
        ("post", key_url(other_key, "deactivate/")),
        ("post", key_url(other_key, "activate/")),
        ("get", f"{env_url}members/"),
        ("post", f"{env_url}members/"),
    ]


def _assert_untouched(other_environment, other_key):
    other_key.refresh_from_db()
    assert other_key.state == State.ACTIVE
    assert other_key.name == "staging-ci"
    other_environment.refresh_from_db()
    assert other_environment.name == "staging"
    assert ApiKey.objects.filter(environment=other_environment).count() == 1


def test_a_key_gets_404_for_everything_of_another_environment(key_client, other_environment, other_key):
    for method, url in _cross_environment_requests(other_environment, other_key):
        response = getattr(key_client, method)(url, {"name": "hijacked"}, format="json")
        assert (method, url, response.status_code, response.json()) == (
            method,
            url,
            404,
            {"code": "not_found", "detail": "Not found."},
        )
    _assert_untouched(other_environment, other_key)


@pytest.mark.parametrize("role", ["owner", "member", "reader"])
def test_a_user_gets_404_for_everything_of_an_environment_they_are_not_in(
    request, api_client_for, role, other_environment, other_key, environment
):
    client = api_client_for(request.getfixturevalue(role))
    for method, url in _cross_environment_requests(other_environment, other_key):
        response = getattr(client, method)(url, {"name": "hijacked"}, format="json")
        assert (method, url, response.status_code, response.json()["code"]) == (method, url, 404, "not_found")
    _assert_untouched(other_environment, other_key)


def test_a_key_lists_only_its_own_environment(key_client, environment, other_environment):
    response = key_client.get("/api/v1/environments/")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [environment.pk]


def test_a_key_of_another_environment_is_not_found_under_this_one(key_client, environment, other_key):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/apikeys/{other_key.pk}/")

    assert response.status_code == 404


def test_an_environment_that_does_not_exist_is_404(api_client_for, superuser):
    response = api_client_for(superuser).get(keys_url(999999))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- 403: read-only keys and read-only members ------------------------------------------------


@pytest.fixture
def read_only_client(environment, make_key):
    key, secret = make_key(environment, name="monitoring", permission=Permission.READ_ONLY)
    return client_with(key.access_key, secret)


def _write_requests(environment, key):
    return [
        ("post", keys_url(environment.pk), {"name": "new"}),
        ("patch", key_url(key), {"name": "renamed"}),
        ("put", key_url(key), {"name": "renamed"}),
        ("post", key_url(key, "deactivate/"), None),
        ("delete", key_url(key), None),
        ("patch", f"/api/v1/environments/{environment.pk}/", {"name": "renamed"}),
    ]


@pytest.mark.parametrize("who", ["read_only_client", "reader"])
def test_a_read_only_key_or_member_may_read_but_not_write(request, api_client_for, who, environment, key_pair):
    client = request.getfixturevalue(who)
    if who == "reader":
        client = api_client_for(client)
    key, _ = key_pair

    assert client.get(keys_url(environment.pk)).status_code == 200
    assert client.get(key_url(key)).status_code == 200
    assert client.get(f"/api/v1/environments/{environment.pk}/").status_code == 200
    for method, url, data in _write_requests(environment, key):
        response = getattr(client, method)(url, data, format="json")
        assert (method, url, response.status_code, response.json()["code"]) == (
            method,
            url,
            403,
            "permission_denied",
        )

    key.refresh_from_db()
    environment.refresh_from_db()
    assert (key.name, key.state, environment.name) == ("deploy", State.ACTIVE, "production")
    expected_keys = 2 if who == "read_only_client" else 1
    assert ApiKey.objects.filter(environment=environment).count() == expected_keys


def test_a_read_only_key_is_offered_no_actions(read_only_client, key_pair):
    key, _ = key_pair
    assert read_only_client.get(key_url(key)).json()["actions"] == {}


# --- 409: actions that do not apply to the state ----------------------------------------------


def test_deleting_an_active_key_is_a_409(key_client, key_pair):
    key, _ = key_pair

    response = key_client.delete(key_url(key))

    assert response.status_code == 409
    assert response.json() == {"code": "invalid_state", "detail": "Deactivate this API key before deleting it."}
    assert ApiKey.objects.filter(pk=key.pk, state=State.ACTIVE).exists()


def test_activating_an_active_key_is_a_409(key_client, key_pair):
    key, _ = key_pair

    response = key_client.post(key_url(key, "activate/"))

    assert response.status_code == 409
    assert response.json() == {"code": "invalid_state", "detail": "This API key is already active."}


def test_deactivating_an_inactive_key_is_a_409(key_client, inactive_key):
    response = key_client.post(key_url(inactive_key, "deactivate/"))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    inactive_key.refresh_from_db()
    assert inactive_key.state == State.INACTIVE


# --- 400: what can never change ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("access_key", "EKAAAAAAAAAAAAAAAAAA", id="access-key"),
        pytest.param("secret_key", "envk" + "a" * 46, id="secret-key"),
        pytest.param("environment", 2, id="environment"),
        pytest.param("permission", "read-only", id="permission"),
        pytest.param("state", "inactive", id="state"),
        pytest.param("expires_at", "2030-01-01T00:00:00Z", id="expires-at"),
        pytest.param("id", 12345, id="id"),
    ],
)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_changing_what_a_key_cannot_change_is_a_400_naming_the_field(key_client, key_pair, method, field, value):
    key, _ = key_pair
    usage.record_key_use(key=key)
    before = ApiKey.objects.filter(pk=key.pk).values().get()

    response = getattr(key_client, method)(key_url(key), {"name": "renamed", field: value}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "read_only_field"
    assert list(body["errors"]) == [field]
    assert body["detail"].startswith(f"{field}: ")
    assert ApiKey.objects.filter(pk=key.pk).values().get() == before


def test_an_unknown_field_is_a_400_naming_it(key_client, key_pair):
    key, _ = key_pair

    response = key_client.patch(key_url(key), {"colour": "blue"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_field",
        "detail": "colour: Unknown field.",
        "errors": {"colour": ["Unknown field."]},
    }


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        pytest.param({"access_key": "EKAAAAAAAAAAAAAAAAAA"}, "access_key", "read_only_field", id="access-key"),
        pytest.param({"secret_key": "envk" + "a" * 46}, "secret_key", "read_only_field", id="secret-key"),
        pytest.param({"environment": 1}, "environment", "read_only_field", id="environment"),
        pytest.param({"state": "inactive"}, "state", "read_only_field", id="state"),
        pytest.param({"permission": "admin"}, "permission", "invalid_choice", id="unknown-permission"),
        pytest.param({"expires_at": "yesterday"}, "expires_at", "invalid", id="unparsable-expiry"),
        pytest.param({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at", "invalid", id="past-expiry"),
        pytest.param({"name": "x" * 101}, "name", "max_length", id="name-too-long"),
    ],
)
def test_bad_create_input_is_a_400_naming_the_field(key_client, environment, data, field, code):
    response = key_client.post(keys_url(environment.pk), data, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], list(body["errors"])) == (code, [field])
    assert ApiKey.objects.filter(environment=environment).count() == 1


def test_malformed_json_is_a_400(key_client, environment):
    response = key_client.post(keys_url(environment.pk), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- create: the secret once ------------------------------------------------------------------


def test_create_answers_201_with_the_secret_and_no_store(key_client, environment):
    response = key_client.post(
        keys_url(environment.pk),
        {"name": "ci", "description": "builds", "permission": "read-only"},
        format="json",
    )

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    key = ApiKey.objects.get(pk=body["id"])
    assert crypto.verify_secret(body["secret_key"], key.secret_hash)
    assert body["access_key"] == key.access_key
    assert (key.name, key.description, key.permission, key.state) == ("ci", "builds", "read-only", "active")
    assert body["endpoint"] == f"{BASE}/api/v1/environments/{environment.pk}/"
    assert "secret_hash" not in body


def test_no_response_after_create_shows_the_secret_or_its_digest(key_client, environment):
    created = key_client.post(keys_url(environment.pk), {"name": "ci"}, format="json").json()
    key = ApiKey.objects.get(pk=created["id"])
    url = created["links"]["self"]
    digest = key.secret_hash.partition("$")[2]

    responses = [
        key_client.get(url),
        key_client.get(keys_url(environment.pk)),
        key_client.patch(url, {"description": "d"}, format="json"),
        key_client.post(f"{url}deactivate/"),
        key_client.post(f"{url}activate/"),
        key_client.get(f"/api/v1/environments/{environment.pk}/"),
    ]

    for response in responses:
        assert response.status_code == 200
        assert created["secret_key"].encode() not in response.content
        assert digest.encode() not in response.content
        assert b"secret" not in response.content
        assert response.get("Cache-Control") != "no-store"


def test_a_created_key_works_at_once(key_client, environment):
    created = key_client.post(keys_url(environment.pk), {}, format="json").json()

    response = client_with(created["access_key"], created["secret_key"]).get(created["endpoint"])

    assert response.status_code == 200
    assert response.json()["id"] == environment.pk


# --- representation: fields, links, actions, pagination, filter ------------------------------


def test_a_key_carries_its_fields_links_and_actions(key_client, key_pair, environment):
    key, _ = key_pair

    body = key_client.get(key_url(key)).json()

    assert body == {
        "id": key.pk,
        "type": "apikey",
        "environment": environment.pk,
        "name": "deploy",
        "description": "",
        "access_key": key.access_key,
        "state": "active",
        "permission": "read-write",
        "expires_at": None,
        "is_expired": False,
        "created_at": body["created_at"],
        "created_by": None,
        "last_used_at": body["last_used_at"],
        "links": {
            "self": f"{BASE}/api/v1/environments/{environment.pk}/apikeys/{key.pk}/",
            "environment": f"{BASE}/api/v1/environments/{environment.pk}/",
        },
        "actions": {"deactivate": f"{BASE}/api/v1/environments/{environment.pk}/apikeys/{key.pk}/deactivate/"},
    }
    assert body["last_used_at"] is not None


def test_an_inactive_key_offers_activate_and_delete(key_client, inactive_key, environment):
    body = key_client.get(key_url(inactive_key)).json()

    assert body["state"] == "inactive"
    assert body["actions"] == {
        "activate": f"{BASE}/api/v1/environments/{environment.pk}/apikeys/{inactive_key.pk}/activate/",
        "delete": f"{BASE}/api/v1/environments/{environment.pk}/apikeys/{inactive_key.pk}/",
    }


@pytest.mark.parametrize(("role", "offered"), [("owner", True), ("member", True), ("reader", False)])
def test_actions_are_offered_only_to_who_may_take_them(request, api_client_for, environment, key_pair, role, offered):
    key, _ = key_pair
    client = api_client_for(request.getfixturevalue(role))

    assert bool(client.get(key_url(key)).json()["actions"]) is offered
    assert bool(client.get(keys_url(environment.pk)).json()["results"][0]["actions"]) is offered


def test_the_offered_actions_work(key_client, environment, make_key):
    key, _ = make_key(environment, name="rotating")
    deactivate = key_client.get(key_url(key)).json()["actions"]["deactivate"]

    inactive = key_client.post(deactivate).json()
    assert inactive["state"] == "inactive"
    active = key_client.post(inactive["actions"]["activate"]).json()
    assert active["state"] == "active"
    inactive = key_client.post(active["actions"]["deactivate"]).json()
    assert key_client.delete(inactive["actions"]["delete"]).status_code == 204

    assert not ApiKey.objects.filter(pk=key.pk).exists()


def test_edit_changes_name_and_description(key_client, key_pair):
    key, _ = key_pair

    response = key_client.patch(key_url(key), {"name": "deploy-2", "description": "rotated"}, format="json")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("deploy-2", "rotated")
    key.refresh_from_db()
    assert (key.name, key.description, key.state) == ("deploy-2", "rotated", State.ACTIVE)


def test_put_replaces_name_and_description(key_client, key_pair):
    key, _ = key_pair
    services.update_api_key(key=key, description="old words")

    response = key_client.put(key_url(key), {"name": "only-name"}, format="json")

    assert response.status_code == 200
    key.refresh_from_db()
    assert (key.name, key.description) == ("only-name", "")


def test_deleting_an_inactive_key_answers_204_and_removes_it(key_client, inactive_key):
    response = key_client.delete(key_url(inactive_key))

    assert response.status_code == 204
    assert not ApiKey.objects.filter(pk=inactive_key.pk).exists()
    assert key_client.get(key_url(inactive_key)).status_code == 404


def test_the_list_is_paginated(key_client, environment, make_key):
    for number in range(3):
        make_key(environment, name=f"key-{number}")

    first = key_client.get(keys_url(environment.pk), {"page_size": 2}).json()
    second = key_client.get(first["next"]).json()

    assert first["count"] == 4
    assert first["previous"] is None
    assert first["next"] == f"{BASE}{keys_url(environment.pk)}?page=2&page_size=2"
    assert len(first["results"]) == 2
    assert len(second["results"]) == 2
    assert second["next"] is None
    assert {item["id"] for item in first["results"] + second["results"]} == set(
        ApiKey.objects.filter(environment=environment).values_list("pk", flat=True)
    )


def test_a_page_past_the_end_is_a_404(key_client, environment):
    response = key_client.get(keys_url(environment.pk), {"page": 9})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("state", "names"), [("active", ["deploy"]), ("inactive", ["old"]), ("", ["old", "deploy"])])
def test_the_list_filters_by_state(key_client, environment, inactive_key, state, names):
    response = key_client.get(keys_url(environment.pk), {"state": state})

    assert response.status_code == 200
    assert sorted(item["name"] for item in response.json()["results"]) == sorted(names)


def test_an_unknown_state_filter_is_a_400_naming_the_parameter(key_client, environment):
    response = key_client.get(keys_url(environment.pk), {"state": "activ"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert list(response.json()["errors"]) == ["state"]


# --- the API root -----------------------------------------------------------------------------


def test_the_api_root_links_to_every_part_and_to_the_keys_environment(key_client, environment):
    body = key_client.get("/api/v1/").json()

    assert body["type"] == "apiRoot"
    assert body["access_control"] is True
    assert "warning" not in body
    assert body["links"] == {
        "environments": f"{BASE}/api/v1/environments/",
        "schema": f"{BASE}/api/v1/schema/",
        "environment": f"{BASE}/api/v1/environments/{environment.pk}/",
    }


def test_the_api_root_has_no_environment_link_for_a_user(api_client_for, owner):
    body = api_client_for(owner).get("/api/v1/").json()

    assert set(body["links"]) == {"environments", "schema"}


def test_the_environment_endpoint_links_every_part_of_it(key_client, environment):
    body = key_client.get(f"/api/v1/environments/{environment.pk}/").json()

    assert body["type"] == "environment"
    assert body["links"] == {
        "self": f"{BASE}/api/v1/environments/{environment.pk}/",
        "apikeys": f"{BASE}/api/v1/environments/{environment.pk}/apikeys/",
        "events": f"{BASE}/api/v1/environments/{environment.pk}/events/",
        "authorize": f"{BASE}/api/v1/environments/{environment.pk}/authorize/",
    }


def test_a_signed_in_member_also_gets_the_members_link(api_client_for, member, environment):
    body = api_client_for(member).get(f"/api/v1/environments/{environment.pk}/").json()

    assert body["links"]["members"] == f"{BASE}/api/v1/environments/{environment.pk}/members/"
    assert body["links"]["groups"] == f"{BASE}/api/v1/environments/{environment.pk}/groups/"


# --- JSON errors for every status -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("delete", "/api/v1/", id="root"),
        pytest.param("delete", "/api/v1/environments/{env}/apikeys/", id="key-list"),
        pytest.param("get", "/api/v1/environments/{env}/apikeys/{key}/deactivate/", id="action"),
    ],
)
def test_a_method_that_does_not_apply_is_a_json_405(key_client, key_pair, environment, method, path):
    key, _ = key_pair

    response = getattr(key_client, method)(path.format(env=environment.pk, key=key.pk))

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/nothing-here", id="outside-v1"),
        pytest.param("/api/v1/nothing-here/", id="inside-v1"),
        pytest.param("/api/v1/environments/abc/", id="non-numeric-id"),
        pytest.param("/api/v1/environments/{env}/apikeys/abc/", id="non-numeric-key-id"),
    ],
)
def test_an_unknown_url_under_api_is_a_json_404(key_client, environment, path):
    response = key_client.get(path.format(env=environment.pk))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_an_unexpected_error_is_a_json_500(key_client, environment, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("apikeys.selectors.keys_of_environment", broken)

    response = key_client.get(keys_url(environment.pk))

    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "detail": "Internal server error."}


# --- cost -------------------------------------------------------------------------------------


def test_an_authenticated_key_request_costs_one_query(api_client, key_pair, environment, django_assert_num_queries):
    key, secret = key_pair
    usage.record_key_use(key=key)
    api_client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))

    with django_assert_num_queries(1):
        response = api_client.get(f"/api/v1/environments/{environment.pk}/")

    assert response.status_code == 200


# --- ACCESS_CONTROL off -----------------------------------------------------------------------


@pytest.fixture
def access_control_off(settings):
    settings.ACCESS_CONTROL = False


def test_with_access_control_off_anyone_may_do_everything(access_control_off, api_client, environment, key_pair):
    key, _ = key_pair
    assert api_client.get("/api/v1/environments/").json()["count"] == 1

    created = api_client.post("/api/v1/environments/", {"name": "open"}, format="json")
    assert created.status_code == 201
    new_key = api_client.post(keys_url(created.json()["id"]), {"name": "anon"}, format="json")
    assert new_key.status_code == 201
    assert new_key.json()["actions"] == {"deactivate": new_key.json()["links"]["self"] + "deactivate/"}

    assert api_client.patch(key_url(key), {"name": "renamed"}, format="json").status_code == 200
    assert api_client.post(key_url(key, "deactivate/")).status_code == 200
    assert api_client.delete(key_url(key)).status_code == 204
    assert api_client.delete(f"/api/v1/environments/{environment.pk}/").status_code == 204
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["anon"]


def test_with_access_control_off_a_presented_wrong_pair_is_still_a_401(access_control_off, environment, key_pair):
    key, _ = key_pair
    client = client_with(key.access_key, crypto.generate_secret_key())

    response = client.get(f"/api/v1/environments/{environment.pk}/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_with_access_control_off_an_inactive_key_is_still_a_401(access_control_off, environment, make_key):
    key, secret = make_key(environment)
    services.deactivate_api_key(key=key)

    assert client_with(key.access_key, secret).get("/api/v1/").status_code == 401


def test_with_access_control_off_the_api_root_says_so(access_control_off, api_client):
    body = api_client.get("/api/v1/").json()

    assert body["access_control"] is False
    assert body["warning"] == "Access control is not configured: anyone who can reach this server can use its API."


def test_with_access_control_on_anonymous_requests_get_nothing(api_client, environment, key_pair):
    key, _ = key_pair
    for method, url in [
        ("get", "/api/v1/environments/"),
        ("post", "/api/v1/environments/"),
        ("post", keys_url(environment.pk)),
        ("post", key_url(key, "deactivate/")),
    ]:
        assert getattr(api_client, method)(url).status_code == 401
    key.refresh_from_db()
    assert key.state == State.ACTIVE
    assert ApiKey.objects.count() == 1

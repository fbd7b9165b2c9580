"""The Django admin for keys: filters, lifecycle actions through the services, the secret once."""

import re

import pytest
from django.contrib.messages import get_messages

from apikeys import crypto, services
from apikeys.models import ApiKey, State

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/apikeys/apikey/"
ADD = "/admin/apikeys/apikey/add/"


def change_url(key: ApiKey) -> str:
    return f"{CHANGELIST}{key.pk}/change/"


def delete_url(key: ApiKey) -> str:
    return f"{CHANGELIST}{key.pk}/delete/"


def _digest(key: ApiKey) -> str:
    return ApiKey.objects.values_list("secret_hash", flat=True).get(pk=key.pk).partition("$")[2]


@pytest.fixture
def keys(environment, other_environment, make_key):
    """An active and an inactive key of "production" and an active key of "staging"."""
    active, _ = make_key(environment, name="active-prod")
    inactive, _ = make_key(environment, name="inactive-prod")
    services.deactivate_api_key(key=inactive)
    staging, _ = make_key(other_environment, name="active-staging")
    return {"active": active, "inactive": inactive, "staging": staging}


def _listed(response) -> set[str]:
    return set(re.findall(r"\b(?:in)?active-(?:prod|staging)\b", response.content.decode()))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", {"active-prod", "inactive-prod", "active-staging"}, id="all"),
        pytest.param("?state__exact=inactive", {"inactive-prod"}, id="inactive"),
        pytest.param("?state__exact=active", {"active-prod", "active-staging"}, id="active"),
        pytest.param("?environment__id__exact={staging}", {"active-staging"}, id="environment"),
    ],
)
def test_the_key_list_filters_by_state_and_environment(admin_client, keys, other_environment, query, expected):
    response = admin_client.get(CHANGELIST + query.format(staging=other_environment.pk))

    assert response.status_code == 200
    assert _listed(response) == expected


def test_adding_a_key_shows_its_secret_once_in_the_add_response(admin_client, environment):
    response = admin_client.post(
        ADD,
        {"environment": environment.pk, "name": "from-admin", "description": "", "permission": "read-only"},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    # Rendered directly: nothing carries the secret to a later request (no message cookie, no session).
    assert not response.cookies.get("messages")
    key = ApiKey.objects.get(name="from-admin")
    assert (key.environment, key.permission, key.state) == (environment, "read-only", State.ACTIVE)
    shown = sorted(set(re.findall(r"envk[A-Za-z0-9]{46}", response.content.decode())))
    assert len(shown) == 1
    assert crypto.verify_secret(shown[0], key.secret_hash)
    assert key.access_key in response.content.decode()

    for page in (CHANGELIST, change_url(key), f"{CHANGELIST}{key.pk}/history/"):
        later = admin_client.get(page)
        assert later.status_code == 200
        assert shown[0].encode() not in later.content


def test_adding_a_key_with_a_past_expiry_is_a_form_error(admin_client, environment):
    response = admin_client.post(
        ADD,
        {
            "environment": environment.pk,
            "name": "expired",
            "permission": "read-write",
            "expires_at_0": "2001-01-01",
            "expires_at_1": "00:00:00",
        },
    )

    assert response.status_code == 200
    assert "The expiry time must be in the future." in response.content.decode()
    assert not ApiKey.objects.filter(name="expired").exists()


def test_the_hash_is_never_displayed(admin_client, keys):
    key = keys["inactive"]
    pages = [CHANGELIST, change_url(key), delete_url(key), ADD, f"{CHANGELIST}?q={key.access_key}"]

    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200
        assert _digest(key).encode() not in response.content
        assert b"sha256$" not in response.content
        assert b"secret_hash" not in response.content


def test_the_change_page_edits_name_and_description_only(admin_client, keys):
    key = keys["active"]
    before = ApiKey.objects.filter(pk=key.pk).values().get()

    response = admin_client.post(
        change_url(key),
        {
            "name": "renamed",
            "description": "by admin",
            "access_key": "EKAAAAAAAAAAAAAAAAAA",
            "state": "inactive",
            "permission": "read-only",
            "environment": keys["staging"].environment_id,
        },
    )

    assert response.status_code == 302
    after = ApiKey.objects.filter(pk=key.pk).values().get()
    assert (after["name"], after["description"]) == ("renamed", "by admin")
    assert {k: v for k, v in after.items() if k not in {"name", "description"}} == {
        k: v for k, v in before.items() if k not in {"name", "description"}
    }


def _run_action(admin_client, action: str, *selected: ApiKey):
    return admin_client.post(
        CHANGELIST, {"action": action, "_selected_action": [key.pk for key in selected]}, follow=True
    )


def test_the_deactivate_action_deactivates_and_reports_keys_it_cannot(admin_client, keys):
    response = _run_action(admin_client, "deactivate_keys", keys["active"], keys["inactive"])

    assert response.status_code == 200
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "Deactivated 1 key(s)." in messages
    assert f"{keys['inactive'].access_key}: This API key is already inactive." in messages
    keys["active"].refresh_from_db()
    assert keys["active"].state == State.INACTIVE


def test_the_activate_action_activates_inactive_keys(admin_client, keys):
    _run_action(admin_client, "activate_keys", keys["inactive"])

    keys["inactive"].refresh_from_db()
    assert keys["inactive"].state == State.ACTIVE


def test_the_delete_action_deletes_only_inactive_keys(admin_client, keys):
    response = _run_action(admin_client, "delete_inactive_keys", keys["active"], keys["inactive"])

    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "Deleted 1 key(s)." in messages
    assert f"{keys['active'].access_key}: Deactivate this API key before deleting it." in messages
    assert ApiKey.objects.filter(pk=keys["active"].pk).exists()
    assert not ApiKey.objects.filter(pk=keys["inactive"].pk).exists()


def test_the_bulk_delete_that_bypasses_the_services_is_not_offered(admin_client, keys):
    response = admin_client.get(CHANGELIST)

    assert b"delete_selected" not in response.content
    assert b"delete_inactive_keys" in response.content


def test_an_active_key_cannot_be_deleted_from_its_page(admin_client, keys):
    assert admin_client.get(delete_url(keys["active"])).status_code == 403
    assert admin_client.post(delete_url(keys["active"]), {"post": "yes"}).status_code == 403
    assert ApiKey.objects.filter(pk=keys["active"].pk).exists()


def test_an_inactive_key_can_be_deleted_from_its_page(admin_client, keys):
    response = admin_client.post(delete_url(keys["inactive"]), {"post": "yes"})

    assert response.status_code == 302
    assert not ApiKey.objects.filter(pk=keys["inactive"].pk).exists()

"""The audit log: what each action records, refused-authentication summaries, the API and the page."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import reverse

from apikeys import crypto
from apikeys import services as key_services
from apikeys.authentication import ApiKeyUser
from apikeys.models import ApiKey, Permission, State
from common.actor import Actor
from common.audit import records as audit
from common.audit import refusals as summaries
from common.audit import sentences as audit_sentences
from common.audit.models import ActorType, AuditAction, AuditEvent
from common.errors import DomainError
from environments import services as environment_services
from environments.models import Environment, Membership, Role
from tests.support.auth import basic_auth

ADDRESS = "203.0.113.7"
UNKNOWN_ACCESS_KEY = "EK" + "0" * 18


@pytest.fixture(autouse=True)
def empty_cache():
    """Refusal counters live in the cache: every test starts without any."""
    cache.clear()
    yield
    cache.clear()


def events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def new_events(since: int, **filters):
    """Return the events recorded after the event with id ``since``."""
    return events(id__gt=since, **filters)


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def all_rows_as_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


# --- Recording changes --------------------------------------------------------------------------


def test_creating_an_environment_records_who_where_and_the_initial_values(owner):
    environment = environment_services.create_environment(
        name="billing", description="Invoices", owner=owner, actor=Actor(owner, ADDRESS)
    )
    [event] = events(environment=environment)
    assert event.action == AuditAction.ENVIRONMENT_CREATED
    assert (event.actor_type, event.actor_user, event.actor_name) == (ActorType.USER, owner, "olivia")
    assert event.address == ADDRESS
    assert event.environment_name == "billing"
    assert event.target == "billing"
    assert event.changes == {"name": [None, "billing"], "description": [None, "Invoices"], "owner": [None, "olivia"]}
    assert event.count == 1 and event.reason == ""


def test_editing_an_environment_records_old_and_new_values_of_what_changed(environment, owner):
    since = last_id()
    environment_services.update_environment(
        environment=environment, name="prod", description="Live systems", actor=Actor(owner, ADDRESS)
    )
    [event] = new_events(since)
    assert event.action == AuditAction.ENVIRONMENT_EDITED
    assert event.changes == {"name": ["production", "prod"]}
    assert (event.environment_name, event.target) == ("prod", "prod")
    assert (event.actor_user, event.address) == (owner, ADDRESS)


def test_editing_records_the_stored_old_value_even_when_the_object_already_holds_the_new_one(environment, owner):
    since = last_id()
    environment.description = "Changed by a form"
    environment_services.update_environment(
        environment=environment, description="Changed by a form", actor=Actor(owner)
    )
    [event] = new_events(since)
    assert event.changes == {"description": ["Live systems", "Changed by a form"]}


def test_an_edit_that_changes_nothing_records_nothing(environment, owner):
    since = last_id()
    environment_services.update_environment(environment=environment, name="production", actor=Actor(owner))
    assert new_events(since) == []


def test_deleting_an_environment_keeps_its_trail_by_name(environment, owner):
    history = AuditEvent.objects.filter(environment=environment).count()
    since = last_id()
    environment_services.delete_environment(environment=environment, actor=Actor(owner, ADDRESS))
    [event] = new_events(since)
    assert event.action == AuditAction.ENVIRONMENT_DELETED
    assert event.environment is None
    assert (event.environment_name, event.target) == ("production", "production")
    assert event.changes == {"name": ["production", None], "description": ["Live systems", None]}
    assert AuditEvent.objects.filter(environment_name="production", environment=None).count() == history + 1


def test_adding_changing_and_removing_a_member_record_one_event_each(environment, owner, outsider):
    since = last_id()
    membership = environment_services.add_member(
        environment=environment, username="oscar", role=Role.READ_ONLY, actor=Actor(owner, ADDRESS)
    )
    environment_services.change_member_role(membership=membership, role=Role.MEMBER, actor=Actor(owner, ADDRESS))
    environment_services.remove_member(membership=membership, actor=Actor(owner, ADDRESS))
    recorded = new_events(since)
    assert [(e.action, e.target, e.changes) for e in recorded] == [
        (AuditAction.MEMBER_ADDED, "oscar", {"role": [None, "read-only"]}),
        (AuditAction.MEMBER_CHANGED, "oscar", {"role": ["read-only", "member"]}),
        (AuditAction.MEMBER_REMOVED, "oscar", {"role": ["member", None]}),
    ]
    assert {(e.environment_id, e.actor_user_id, e.address) for e in recorded} == {(environment.pk, owner.pk, ADDRESS)}


def test_every_key_lifecycle_action_records_one_event_and_never_the_secret(environment, member):
    since = last_id()
    expires_at = datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    key, secret = key_services.create_api_key(
        environment=environment,
        name="ci",
        permission=Permission.READ_ONLY,
        expires_at=expires_at,
        actor=Actor(member, ADDRESS),
    )
    key_services.update_api_key(key=key, name="ci runner", description="", actor=Actor(member, ADDRESS))
    key_services.deactivate_api_key(key=key, actor=Actor(member, ADDRESS))
    key_services.activate_api_key(key=key, actor=Actor(member, ADDRESS))
    key_services.deactivate_api_key(key=key, actor=Actor(member, ADDRESS))
    key_services.delete_api_key(key=key, actor=Actor(member, ADDRESS))

    recorded = new_events(since)
    assert [(e.action, e.changes) for e in recorded] == [
        (
            AuditAction.APIKEY_CREATED,
            {
                "name": [None, "ci"],
                "description": [None, ""],
                "permission": [None, "read-only"],
                "expires_at": [None, "2099-01-01T00:00:00+00:00"],
            },
        ),
        (AuditAction.APIKEY_EDITED, {"name": ["ci", "ci runner"]}),
        (AuditAction.APIKEY_DEACTIVATED, {"state": ["active", "inactive"]}),
        (AuditAction.APIKEY_ACTIVATED, {"state": ["inactive", "active"]}),
        (AuditAction.APIKEY_DEACTIVATED, {"state": ["active", "inactive"]}),
        (AuditAction.APIKEY_DELETED, {"name": ["ci runner", None], "permission": ["read-only", None]}),
    ]
    assert {(e.target, e.environment_id, e.actor_user_id, e.address) for e in recorded} == {
        (key.access_key, environment.pk, member.pk, ADDRESS)
    }
    text = all_rows_as_text()
    assert secret not in text
    assert crypto.hash_secret(secret) not in text
    assert crypto.hash_secret(secret).split("$")[1] not in text


def test_a_key_acting_is_recorded_by_its_access_key(environment, key_pair):
    key, _ = key_pair
    since = last_id()
    environment_services.update_environment(
        environment=environment, description="By a key", actor=Actor(ApiKeyUser(key))
    )
    [event] = new_events(since)
    assert (event.actor_type, event.actor_user, event.actor_name) == (ActorType.APIKEY, None, key.access_key)
    assert event.actor_label == f"API key {key.access_key}"


@pytest.mark.parametrize(
    "actor, expected",
    [
        pytest.param(None, (ActorType.SYSTEM, ""), id="no-actor-is-the-system"),
        pytest.param(AnonymousUser(), (ActorType.ANONYMOUS, ""), id="anonymous-with-access-control-off"),
    ],
)
def test_actors_without_a_user_are_named_by_kind(environment, actor, expected):
    since = last_id()
    environment_services.update_environment(environment=environment, description="x", actor=Actor(actor))
    [event] = new_events(since)
    assert (event.actor_type, event.actor_name) == expected
    assert event.actor_label == expected[0]


# Each refused action: set it up, then return the call that the service refuses.


def _create_duplicate_environment(environment, key, owner):
    return lambda: environment_services.create_environment(name="production", owner=owner, actor=Actor(owner))


def _rename_onto_another_name(environment, key, owner):
    environment_services.create_environment(name="staging", owner=owner)
    return lambda: environment_services.update_environment(environment=environment, name="staging", actor=Actor(owner))


def _remove_the_last_owner(environment, key, owner):
    membership = Membership.objects.get(user=owner)
    return lambda: environment_services.remove_member(membership=membership, actor=Actor(owner))


def _demote_the_last_owner(environment, key, owner):
    membership = Membership.objects.get(user=owner)
    return lambda: environment_services.change_member_role(membership=membership, role=Role.MEMBER, actor=Actor(owner))


def _add_an_existing_member(environment, key, owner):
    return lambda: environment_services.add_member(
        environment=environment, username="marco", role=Role.MEMBER, actor=Actor(owner)
    )


def _delete_an_active_key(environment, key, owner):
    return lambda: key_services.delete_api_key(key=key, actor=Actor(owner))


def _activate_an_active_key(environment, key, owner):
    return lambda: key_services.activate_api_key(key=key, actor=Actor(owner))


def _deactivate_a_deleted_key(environment, key, owner):
    ApiKey.objects.filter(pk=key.pk).delete()
    return lambda: key_services.deactivate_api_key(key=key, actor=Actor(owner))


def _edit_a_deleted_key(environment, key, owner):
    ApiKey.objects.filter(pk=key.pk).delete()
    return lambda: key_services.update_api_key(key=key, name="gone", actor=Actor(owner))


def _edit_a_deleted_environment(environment, key, owner):
    Environment.objects.filter(pk=environment.pk).delete()
    return lambda: environment_services.update_environment(environment=environment, name="gone", actor=Actor(owner))


def _delete_a_deleted_environment(environment, key, owner):
    Environment.objects.filter(pk=environment.pk).delete()
    return lambda: environment_services.delete_environment(environment=environment, actor=Actor(owner))


@pytest.mark.parametrize(
    "prepare",
    [
        pytest.param(_create_duplicate_environment, id="create-name-taken"),
        pytest.param(_rename_onto_another_name, id="edit-name-taken"),
        pytest.param(_remove_the_last_owner, id="remove-last-owner"),
        pytest.param(_demote_the_last_owner, id="demote-last-owner"),
        pytest.param(_add_an_existing_member, id="add-existing-member"),
        pytest.param(_delete_an_active_key, id="delete-active-key"),
        pytest.param(_activate_an_active_key, id="activate-active-key"),
        pytest.param(_deactivate_a_deleted_key, id="deactivate-deleted-key"),
        pytest.param(_edit_a_deleted_key, id="edit-deleted-key"),
        pytest.param(_edit_a_deleted_environment, id="edit-deleted-environment"),
        pytest.param(_delete_a_deleted_environment, id="delete-deleted-environment"),
    ],
)
def test_an_action_that_is_refused_records_nothing(environment, key_pair, owner, prepare):
    key, _ = key_pair
    refused = prepare(environment, key, owner)
    since = last_id()
    with pytest.raises(DomainError):
        refused()
    assert new_events(since) == []


def test_an_event_that_cannot_be_written_rolls_the_change_back(environment, key_pair, owner, monkeypatch):
    key, _ = key_pair

    def broken(**kwargs):
        raise RuntimeError("audit storage broke")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        key_services.deactivate_api_key(key=key, actor=Actor(owner))
    key.refresh_from_db()
    assert key.state == State.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(owner):
    environment = environment_services.create_environment(name="solo", owner=owner)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(action=AuditAction.ENVIRONMENT_EDITED, environment=environment)
    with transaction.atomic():
        audit.record(action=AuditAction.ENVIRONMENT_EDITED, environment=environment)


def test_an_event_refuses_secret_fields(environment):
    with pytest.raises(ValueError, match="never holds a secret"):
        audit.record(action=AuditAction.APIKEY_EDITED, environment=environment, changes={"secret_hash": ["a", "b"]})


# --- Refused authentications --------------------------------------------------------------------


def refuse(client, access_key: str, secret: str, environment_id: int, address: str = ADDRESS):
    response = client.get(
        f"/api/v1/environments/{environment_id}/",
        HTTP_AUTHORIZATION=basic_auth(access_key, secret),
        REMOTE_ADDR=address,
    )
    assert response.status_code == 401
    return response


def refusals(**filters):
    return events(action=AuditAction.AUTH_REFUSED, **filters)


@pytest.mark.parametrize(
    "secret",
    [pytest.param("not-a-secret-key", id="malformed-secret"), pytest.param("", id="empty-secret")],
)
def test_a_malformed_secret_for_a_known_access_key_is_recorded_against_its_environment(
    api_client, key_pair, environment, secret
):
    key, _ = key_pair
    refuse(api_client, key.access_key, secret, environment.pk)
    [event] = refusals()
    assert (event.environment, event.target, event.reason) == (environment, key.access_key, "authentication_failed")


def test_a_flood_of_refusals_looks_the_environment_up_once(
    api_client, key_pair, environment, django_assert_max_num_queries
):
    key, _ = key_pair
    refuse(api_client, key.access_key, "not-a-secret-key", environment.pk)
    # Later refusals of the same minute count in the cache; the row's count is rewritten at 2 and 4.
    with django_assert_max_num_queries(2) as captured:
        for _ in range(5):
            refuse(api_client, key.access_key, "not-a-secret-key", environment.pk)
    assert [query["sql"].split()[0] for query in captured.captured_queries] == ["UPDATE", "UPDATE"]
    [event] = refusals()
    assert (event.environment, event.count) == (environment, 4)


def test_a_wrong_secret_is_recorded_against_the_key_and_its_environment(api_client, key_pair, environment, clock):
    key, secret = key_pair
    wrong = crypto.generate_secret_key()
    refuse(api_client, key.access_key, wrong, environment.pk)
    [event] = refusals()
    assert (event.environment, event.environment_name) == (environment, "production")
    assert (event.target, event.address, event.reason, event.count) == (
        key.access_key,
        ADDRESS,
        "authentication_failed",
        1,
    )
    assert (event.actor_type, event.created_at) == (ActorType.ANONYMOUS, clock.start)
    text = all_rows_as_text()
    assert wrong not in text and secret not in text


def test_refusals_share_one_row_rewritten_only_at_powers_of_two(
    api_client, key_pair, environment, clock, django_assert_num_queries
):
    key, _ = key_pair
    refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    stored = []
    for attempt in range(2, 10):
        writes = 1 if attempt in (2, 4, 8) else 0
        # The key lookup, as for an accepted request, plus the count's rewrite at 2, 4 and 8.
        with django_assert_num_queries(1 + writes):
            refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
        stored.append(refusals()[0].count)
    assert stored == [2, 2, 4, 4, 4, 4, 8, 8]
    assert len(refusals()) == 1


def test_the_next_minute_settles_the_previous_minutes_final_count(api_client, key_pair, environment, clock):
    key, _ = key_pair
    for _ in range(3):
        refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    clock.advance(seconds=60)
    refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    assert [(e.created_at, e.count) for e in refusals()] == [
        (clock.start, 3),
        (clock.start + datetime.timedelta(seconds=60), 1),
    ]


def test_reading_the_log_writes_the_full_count_of_a_burst_that_stopped(
    api_client, api_client_for, owner, key_pair, environment, clock
):
    key, _ = key_pair
    for _ in range(5):
        refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    assert [e.count for e in refusals()] == [4]
    response = api_client_for(owner).get(f"/api/v1/environments/{environment.pk}/events/", {"action": "auth.refused"})
    assert [e["count"] for e in response.json()["results"]] == [5]
    assert [e.count for e in refusals()] == [5]


def test_refusals_are_summarised_per_address_and_reason(api_client, key_pair, environment, clock):
    key, secret = key_pair
    refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk, address="198.51.100.1")
    refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk, address="198.51.100.2")
    key_services.deactivate_api_key(key=key)
    refuse(api_client, key.access_key, secret, environment.pk, address="198.51.100.1")
    assert sorted((e.address, e.reason) for e in refusals()) == [
        ("198.51.100.1", "authentication_failed"),
        ("198.51.100.1", "key_inactive"),
        ("198.51.100.2", "authentication_failed"),
    ]


def test_an_unknown_access_key_is_recorded_without_an_environment(api_client, environment, clock):
    refuse(api_client, UNKNOWN_ACCESS_KEY, crypto.generate_secret_key(), environment.pk)
    [event] = refusals()
    assert (event.environment, event.environment_name, event.target) == (None, "", UNKNOWN_ACCESS_KEY)


def test_a_secret_presented_as_the_access_key_is_never_recorded(api_client, key_pair, environment, clock):
    key, secret = key_pair
    refuse(api_client, secret, key.access_key, environment.pk)
    [event] = refusals()
    assert (event.environment, event.target, event.reason) == (None, "", "authentication_failed")
    assert secret not in all_rows_as_text()


def test_an_address_guessing_access_keys_gets_one_row_for_the_rest_of_the_minute(api_client, environment, clock):
    guesses = [f"EK{n:018d}" for n in range(1, summaries.KEYS_PER_ADDRESS + 6)]
    for access_key in guesses:
        refuse(api_client, access_key, crypto.generate_secret_key(), environment.pk)
    refuse(api_client, guesses[-1], crypto.generate_secret_key(), environment.pk)
    clock.advance(seconds=60)
    refuse(api_client, UNKNOWN_ACCESS_KEY, crypto.generate_secret_key(), environment.pk)
    first_minute = refusals(created_at__lt=clock.start + datetime.timedelta(seconds=60))
    assert len(first_minute) == summaries.KEYS_PER_ADDRESS + 1
    assert [e.target for e in first_minute] == [*guesses[: summaries.KEYS_PER_ADDRESS], ""]
    assert sum(e.count for e in first_minute) == len(guesses) + 1


def test_a_failure_to_record_never_turns_the_refusal_into_an_error(api_client, key_pair, environment, monkeypatch):
    def broken(**kwargs):
        raise ConnectionError("cache is down")

    monkeypatch.setattr(summaries, "_count", broken)
    key, _ = key_pair
    response = refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    assert response.json() == {"code": "authentication_failed", "detail": "Invalid access key or secret key."}
    assert refusals() == []


def test_an_accepted_request_records_nothing(key_client, environment):
    since = last_id()
    assert key_client.get(f"/api/v1/environments/{environment.pk}/").status_code == 200
    assert new_events(since) == []


# --- API ----------------------------------------------------------------------------------------


def events_url(environment_id: int) -> str:
    return f"/api/v1/environments/{environment_id}/events/"


def test_the_environment_resource_links_to_its_events(api_client_for, owner, environment):
    response = api_client_for(owner).get(f"/api/v1/environments/{environment.pk}/")
    assert response.json()["links"]["events"] == f"http://testserver{events_url(environment.pk)}"


def test_events_are_listed_newest_first_with_who_what_when_and_where(api_client_for, owner, environment, clock):
    clock.advance(seconds=60)
    environment_services.update_environment(environment=environment, description="Edited", actor=Actor(owner, ADDRESS))
    response = api_client_for(owner).get(events_url(environment.pk))
    assert response.status_code == 200
    body = response.json()
    assert [e["action"] for e in body["results"]] == [
        "environment.edited",
        "member.added",
        "member.added",
        "environment.created",
    ]
    latest = body["results"][0]
    event_id = latest.pop("id")
    assert latest == {
        "type": "event",
        "action": "environment.edited",
        "created_at": (clock.start + datetime.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "environment": environment.pk,
        "environment_name": "production",
        "actor": {"type": "user", "id": owner.pk, "name": "olivia"},
        "address": ADDRESS,
        "target": "production",
        "changes": {"description": ["Live systems", "Edited"]},
        "reason": "",
        "count": 1,
        "links": {
            "self": f"http://testserver{events_url(environment.pk)}{event_id}/",
            "environment": f"http://testserver/api/v1/environments/{environment.pk}/",
        },
    }
    detail = api_client_for(owner).get(f"{events_url(environment.pk)}{event_id}/")
    assert detail.status_code == 200 and detail.json()["id"] == event_id


def test_events_can_be_filtered_by_action(api_client_for, reader, environment):
    response = api_client_for(reader).get(events_url(environment.pk), {"action": "member.added"})
    assert response.status_code == 200
    assert [(e["action"], e["target"]) for e in response.json()["results"]] == [
        ("member.added", "rita"),
        ("member.added", "marco"),
    ]


def test_an_unknown_action_filter_is_a_400(api_client_for, owner, environment):
    response = api_client_for(owner).get(events_url(environment.pk), {"action": "environment.exploded"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_choice"
    assert list(response.json()["errors"]) == ["action"]


def test_events_are_paginated(api_client_for, owner, environment):
    client = api_client_for(owner)
    key_services.create_api_key(environment=environment, name="extra", actor=Actor(owner))
    first = client.get(events_url(environment.pk), {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    assert first["count"] == 4
    assert [e["action"] for e in first["results"]] == ["apikey.created", "member.added", "member.added"]
    assert [e["action"] for e in second["results"]] == ["environment.created"]
    assert second["next"] is None


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_log_cannot_be_changed_through_the_api(api_client_for, owner, environment, method):
    event = AuditEvent.objects.filter(environment=environment).first()
    client = api_client_for(owner)
    assert getattr(client, method)(events_url(environment.pk)).status_code == 405
    assert getattr(client, method)(f"{events_url(environment.pk)}{event.pk}/").status_code == 405
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_key_created_through_the_api_is_recorded_with_the_calling_key_and_never_its_secret(
    key_client, key_pair, environment
):
    caller, caller_secret = key_pair
    since = last_id()
    response = key_client.post(
        f"/api/v1/environments/{environment.pk}/apikeys/", {"name": "made by a key"}, REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 201
    created = response.json()
    [event] = new_events(since)
    assert (event.action, event.target) == (AuditAction.APIKEY_CREATED, created["access_key"])
    assert (event.actor_type, event.actor_name, event.address) == (ActorType.APIKEY, caller.access_key, ADDRESS)
    listing = key_client.get(events_url(environment.pk)).content.decode()
    for secret in (created["secret_key"], caller_secret):
        assert secret not in all_rows_as_text()
        assert secret not in listing


def test_an_outsider_gets_404_for_another_environments_events(api_client_for, outsider, environment):
    response = api_client_for(outsider).get(events_url(environment.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_event_is_not_reachable_through_another_environment(
    api_client_for, outsider, environment, other_environment
):
    event = AuditEvent.objects.filter(environment=environment).first()
    response = api_client_for(outsider).get(f"{events_url(other_environment.pk)}{event.pk}/")
    assert response.status_code == 404


def test_without_credentials_the_events_are_a_401(api_client, environment):
    response = api_client.get(events_url(environment.pk))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_key_reads_its_own_environments_events_without_member_events(key_client, environment, other_environment):
    response = key_client.get(events_url(environment.pk))
    assert response.status_code == 200
    assert [e["action"] for e in response.json()["results"]] == ["apikey.created", "environment.created"]
    assert key_client.get(events_url(environment.pk), {"action": "member.added"}).json()["results"] == []
    assert key_client.get(events_url(other_environment.pk)).status_code == 404


def test_a_read_only_key_reads_events_too(api_client, environment, make_key):
    key, secret = make_key(environment, permission=Permission.READ_ONLY)
    api_client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
    assert api_client.get(events_url(environment.pk)).status_code == 200


def test_refusals_without_an_environment_are_in_no_environments_log(api_client_for, superuser, api_client, environment):
    refuse(api_client, UNKNOWN_ACCESS_KEY, crypto.generate_secret_key(), environment.pk)
    results = api_client_for(superuser).get(events_url(environment.pk), {"action": "auth.refused"}).json()["results"]
    assert results == []
    assert len(refusals(environment=None)) == 1


# --- Dashboard page -----------------------------------------------------------------------------


def page_url(environment_id: int) -> str:
    return reverse("environments:events", kwargs={"environment_id": environment_id})


def test_the_page_lists_events_newest_first(client, member, environment, owner):
    environment_services.update_environment(environment=environment, description="Edited", actor=Actor(owner))
    client.force_login(member)
    response = client.get(page_url(environment.pk))
    assert response.status_code == 200
    assert [e.action for e in response.context["page"].object_list] == [
        "environment.edited",
        "member.added",
        "member.added",
        "environment.created",
    ]
    html = response.content.decode()
    assert '<h1 class="env-name">production</h1>' in html
    assert 'aria-current="page">Audit log</a>' in html
    assert "<li>Description: Live systems → Edited</li>" in html
    assert "<strong>olivia</strong> edited environment <strong>production</strong>" in html
    assert "<title>Audit log · production · envkeys</title>" in html


def test_the_page_shows_refusal_summaries_with_their_full_count(
    client, api_client, member, key_pair, environment, clock
):
    key, _ = key_pair
    for _ in range(4):
        refuse(api_client, key.access_key, crypto.generate_secret_key(), environment.pk)
    client.force_login(member)
    html = client.get(page_url(environment.pk), {"action": "auth.refused"}).content.decode()
    assert (
        f'4 refused attempts with key <strong class="key-name">deploy</strong> (<code>{key.access_key}</code>) '
        f"from <strong>{ADDRESS}</strong>: wrong secret key"
    ) in html
    assert "anonymous" not in html.lower()


def sentences(client, environment) -> list[str]:
    """Return the page's sentences, newest first, as text."""
    html = client.get(page_url(environment.pk)).content.decode()
    cells = re.findall(r'<td data-label="What happened" class="event-sentence"><span>(.*?)</span></td>', html, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


def test_the_page_reads_like_sentences_naming_keys_by_the_name_they_had_then(client, owner, environment, outsider):
    by_owner = Actor(owner, ADDRESS)
    key, _ = key_services.create_api_key(environment=environment, name="deploy-bot", actor=by_owner)
    key_services.deactivate_api_key(key=key, actor=by_owner)
    key_services.update_api_key(key=key, name="deploy-old", actor=by_owner)
    key_services.delete_api_key(key=key, actor=by_owner)
    environment_services.add_member(environment=environment, username=outsider.username, role=Role.READ_ONLY)
    client.force_login(owner)
    assert sentences(client, environment)[:5] == [
        "The system (a management command) added oscar as Read-only",
        f"olivia deleted key deploy-old ({key.access_key})",
        f"olivia edited key deploy-old ({key.access_key})",
        f"olivia deactivated key deploy-bot ({key.access_key})",
        f"olivia created key deploy-bot ({key.access_key})",
    ]


def test_field_changes_are_labelled_as_on_the_forms(client, owner, environment, clock):
    expires = clock.now + datetime.timedelta(days=30)
    key, _ = key_services.create_api_key(
        environment=environment, name="ci", permission=Permission.READ_ONLY, expires_at=expires, actor=Actor(owner)
    )
    key_services.deactivate_api_key(key=key, actor=Actor(owner))
    client.force_login(owner)
    html = client.get(page_url(environment.pk)).content.decode()
    assert "<li>State: Active → Inactive</li>" in html
    assert "<li>Permission: Read-only</li>" in html
    assert f"<li>Expires: {expires:%Y-%m-%d %H:%M} UTC</li>" in html
    assert "<li>Name: ci</li>" in html
    assert "<li>Description: (empty)</li>" not in html
    assert "expires_at" not in html and "permission:" not in html


def test_names_typed_by_users_are_escaped_in_the_sentences(client, owner, environment):
    key_services.create_api_key(environment=environment, name="<script>x</script>", actor=Actor(owner))
    client.force_login(owner)
    html = client.get(page_url(environment.pk)).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_the_sentences_cost_one_query_whatever_the_page_length(client, owner, environment, django_assert_num_queries):
    client.force_login(owner)
    for count in (1, 12):
        for index in range(count):
            key_services.create_api_key(environment=environment, name=f"k{count}-{index}", actor=Actor(owner))
        events = list(AuditEvent.objects.filter(environment=environment))
        with django_assert_num_queries(1):
            audit_sentences.describe(events)


def test_the_page_filters_by_action_and_ignores_unknown_actions(client, member, environment):
    client.force_login(member)
    filtered = client.get(page_url(environment.pk), {"action": "environment.created"})
    assert [e.action for e in filtered.context["page"].object_list] == ["environment.created"]
    assert '<option value="environment.created" selected>' in filtered.content.decode()
    unknown = client.get(page_url(environment.pk), {"action": "nonsense"})
    assert unknown.status_code == 200
    assert len(unknown.context["page"].object_list) == 3


def test_the_page_is_paginated(client, owner, environment, monkeypatch):
    monkeypatch.setattr("environments.views.EVENTS_PER_PAGE", 2)
    client.force_login(owner)
    first = client.get(page_url(environment.pk))
    second = client.get(page_url(environment.pk), {"page": 2})
    assert [e.action for e in first.context["page"].object_list] == ["member.added", "member.added"]
    assert [e.action for e in second.context["page"].object_list] == ["environment.created"]
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_the_page_is_404_for_an_outsider(client, outsider, environment):
    client.force_login(outsider)
    assert client.get(page_url(environment.pk)).status_code == 404


def test_the_page_needs_a_sign_in_with_access_control_on(client, environment):
    response = client.get(page_url(environment.pk))
    assert response.status_code == 302
    assert response["Location"] == f"{resolve_url('login')}?next={page_url(environment.pk)}"


def test_the_page_is_open_with_access_control_off(client, environment, settings):
    settings.ACCESS_CONTROL = False
    response = client.get(page_url(environment.pk))
    assert response.status_code == 200


# --- Django admin -------------------------------------------------------------------------------


def test_superusers_read_every_event_in_the_admin_but_cannot_change_any(
    client, superuser, api_client, environment, clock
):
    for _ in range(3):
        refuse(api_client, UNKNOWN_ACCESS_KEY, crypto.generate_secret_key(), environment.pk)
    orphan = refusals(environment=None)[0]
    client.force_login(superuser)
    listing = client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    assert UNKNOWN_ACCESS_KEY in listing.content.decode()
    orphan.refresh_from_db()
    assert orphan.count == 3
    assert client.get(f"/admin/audit/auditevent/{orphan.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    assert client.post(f"/admin/audit/auditevent/{orphan.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/audit/auditevent/{orphan.pk}/change/", {"count": 0}).status_code == 403
    orphan.refresh_from_db()
    assert orphan.count == 3


def test_the_page_says_where_a_request_refused_at_a_proxy_was_going(client, owner, environment, key_pair, clock):
    key, _ = key_pair
    forwarded = {"HTTP_X_FORWARDED_HOST": "reports.example.com", "HTTP_X_FORWARDED_URI": "/daily?token=x"}
    client.get(
        f"/api/v1/environments/{environment.pk}/authorize/",
        HTTP_AUTHORIZATION=basic_auth(key.access_key, "wrong"),
        **forwarded,
    )
    client.force_login(owner)

    page = client.get(page_url(environment.pk), {"action": "auth.refused"}).content.decode()

    assert "wrong secret key, going to <code>reports.example.com/daily</code>" in page
    assert "token=x" not in page


def test_group_mappings_and_roles_from_groups_read_as_sentences(environment, owner, outsider):
    mapping = environment_services.add_group_mapping(
        environment=environment, group="platform", role=Role.MEMBER, actor=Actor(owner)
    )
    environment_services.sync_group_roles(user=outsider, groups=["platform"], actor=Actor(outsider))
    environment_services.remove_group_mapping(mapping=mapping, actor=Actor(owner))

    rows = audit_sentences.describe(
        AuditEvent.objects.filter(environment=environment, action__startswith="member.").order_by("id")
    )

    assert [re.sub(r"<[^>]+>", "", str(row["sentence"])) for row in rows][-3:] == [
        f"{owner.username} mapped group platform to Member",
        f"Signing in, {outsider.username}'s role from groups changed: — → Member",
        f"{owner.username} removed the mapping of group platform (Member)",
    ]
    assert rows[-2]["changes"] == ["Role: — → Member", "Role from groups: — → Member", "Groups: (none) → platform"]


def test_field_changes_are_listed_in_the_forms_order_whatever_order_the_database_keeps(environment):
    # PostgreSQL's jsonb hands keys back sorted by length; a stored order of its own must not show.
    event = AuditEvent(
        action=AuditAction.APIKEY_EDITED,
        environment=environment,
        target="EK" + "1" * 18,
        changes={"unknown_field": [1, 2], "description": ["a", "b"], "name": ["ci", "ci runner"]},
    )

    assert audit_sentences.describe([event])[0]["changes"] == [
        "Name: ci → ci runner",
        "Description: a → b",
        "Unknown field: 1 → 2",
    ]


def test_a_key_reading_the_audit_log_is_not_told_who_owns_the_environment(
    key_client, api_client_for, owner, environment
):
    # Keys never see who the members are: the environment's creation event leaves its owner out.
    url = f"/api/v1/environments/{environment.pk}/events/?action=environment.created"

    for_key = key_client.get(url).json()["results"][0]["changes"]
    for_owner = api_client_for(owner).get(url).json()["results"][0]["changes"]

    assert "owner" not in for_key and for_key["name"] == [None, "production"]
    assert for_owner["owner"] == [None, owner.username]

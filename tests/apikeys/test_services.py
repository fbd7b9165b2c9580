"""Lifecycle rules of environment API keys, tested at the service level."""

import datetime

import pytest
from django.db import DatabaseError, transaction

from apikeys import crypto, services, usage
from apikeys.models import ApiKey, Permission, State
from common.errors import DomainError
from environments import services as environment_services

pytestmark = pytest.mark.django_db


def _stored_values(key: ApiKey) -> list[str]:
    """Return every column of the key's row as text, as the database holds it."""
    return [str(value) for value in ApiKey.objects.filter(pk=key.pk).values().get().values()]


# --- create -----------------------------------------------------------------------------------


def test_create_returns_an_active_read_write_key_and_its_secret(environment):
    key, secret = services.create_api_key(environment=environment, name=" deploy ", description="CI")

    key.refresh_from_db()
    assert key.environment == environment
    assert (key.name, key.description) == ("deploy", "CI")
    assert key.state == State.ACTIVE
    assert key.permission == Permission.READ_WRITE
    assert key.expires_at is None
    assert key.last_used_at is None
    assert crypto.is_well_formed_access_key(key.access_key)
    assert crypto.is_well_formed_secret_key(secret)


def test_create_stores_only_a_tagged_digest_of_the_secret(environment):
    key, secret = services.create_api_key(environment=environment)

    key.refresh_from_db()
    assert key.secret_hash == crypto.hash_secret(secret)
    assert key.secret_hash.startswith("sha256$")
    assert not any(secret in value for value in _stored_values(key))


def test_the_secret_cannot_be_read_back_from_the_key(environment):
    key, secret = services.create_api_key(environment=environment)

    fresh = ApiKey.objects.get(pk=key.pk)
    assert secret not in repr(vars(fresh))
    assert secret not in str(fresh)


def test_every_key_gets_its_own_access_key_and_secret(environment):
    first, first_secret = services.create_api_key(environment=environment)
    second, second_secret = services.create_api_key(environment=environment)

    assert first.access_key != second.access_key
    assert first_secret != second_secret


def test_create_makes_a_read_only_key_on_request(environment):
    key, _ = services.create_api_key(environment=environment, permission=Permission.READ_ONLY)

    key.refresh_from_db()
    assert key.permission == Permission.READ_ONLY
    assert not key.can_write


def test_create_refuses_an_unknown_permission(environment):
    with pytest.raises(DomainError) as refused:
        services.create_api_key(environment=environment, permission="admin")

    assert (refused.value.code, refused.value.field) == ("invalid", "permission")
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    "offset",
    [pytest.param(datetime.timedelta(0), id="now"), pytest.param(datetime.timedelta(seconds=-1), id="past")],
)
def test_create_refuses_an_expiry_that_is_not_in_the_future(environment, clock, offset):
    with pytest.raises(DomainError) as refused:
        services.create_api_key(environment=environment, expires_at=clock.now + offset)

    assert (refused.value.code, refused.value.field) == ("invalid", "expires_at")
    assert not ApiKey.objects.exists()


def test_create_accepts_an_expiry_in_the_future(environment, clock):
    expiry = clock.now + datetime.timedelta(days=30)

    key, _ = services.create_api_key(environment=environment, expires_at=expiry)

    key.refresh_from_db()
    assert key.expires_at == expiry


# --- edit -------------------------------------------------------------------------------------


def test_edit_changes_name_and_description_and_nothing_else(key_pair):
    key, secret = key_pair
    before = ApiKey.objects.filter(pk=key.pk).values().get()

    services.update_api_key(key=key, name=" renamed ", description="new words")

    after = ApiKey.objects.filter(pk=key.pk).values().get()
    assert (after["name"], after["description"]) == ("renamed", "new words")
    assert {k: v for k, v in after.items() if k not in {"name", "description"}} == {
        k: v for k, v in before.items() if k not in {"name", "description"}
    }
    assert crypto.verify_secret(secret, after["secret_hash"])


def test_edit_leaves_a_field_that_is_not_given_alone(key_pair):
    key, _ = key_pair
    services.update_api_key(key=key, description="only this")

    key.refresh_from_db()
    assert (key.name, key.description) == ("deploy", "only this")


@pytest.mark.parametrize(
    "field",
    [
        pytest.param("access_key", id="access-key"),
        pytest.param("secret", id="secret"),
        pytest.param("secret_hash", id="secret-hash"),
        pytest.param("environment", id="environment"),
        pytest.param("state", id="state"),
        pytest.param("permission", id="permission"),
    ],
)
def test_edit_has_no_way_to_change_anything_but_name_and_description(key_pair, field):
    key, _ = key_pair
    with pytest.raises(TypeError):
        services.update_api_key(key=key, **{field: "x"})


def test_an_inactive_key_can_still_be_edited(key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)

    services.update_api_key(key=key, name="retired")

    key.refresh_from_db()
    assert (key.name, key.state) == ("retired", State.INACTIVE)


def test_editing_a_deleted_key_is_refused(key_pair):
    key, _ = key_pair
    ApiKey.objects.filter(pk=key.pk).delete()

    with pytest.raises(DomainError) as refused:
        services.update_api_key(key=key, name="ghost")

    assert refused.value.code == "not_found"


# --- deactivate, activate, delete -------------------------------------------------------------


def test_deactivate_makes_an_active_key_inactive(key_pair):
    key, _ = key_pair
    returned = services.deactivate_api_key(key=key)

    assert returned.state == State.INACTIVE
    key.refresh_from_db()
    assert key.state == State.INACTIVE


def test_deactivating_an_inactive_key_is_an_error_not_a_no_op(key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)

    with pytest.raises(DomainError) as refused:
        services.deactivate_api_key(key=key)

    assert refused.value.code == "invalid_state"
    assert refused.value.message == "This API key is already inactive."


def test_activate_makes_an_inactive_key_active(key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)

    services.activate_api_key(key=key)

    key.refresh_from_db()
    assert key.state == State.ACTIVE


def test_activating_an_active_key_is_an_error_not_a_no_op(key_pair):
    key, _ = key_pair
    with pytest.raises(DomainError) as refused:
        services.activate_api_key(key=key)

    assert refused.value.code == "invalid_state"
    assert refused.value.message == "This API key is already active."


def test_a_state_change_checks_the_database_not_a_stale_copy(key_pair):
    key, _ = key_pair
    stale = ApiKey.objects.get(pk=key.pk)
    services.deactivate_api_key(key=key)

    # ``stale`` still says active: another worker deactivated the key meanwhile.
    with pytest.raises(DomainError) as refused:
        services.deactivate_api_key(key=stale)

    assert refused.value.code == "invalid_state"


def test_deleting_an_active_key_is_refused(key_pair):
    key, _ = key_pair
    with pytest.raises(DomainError) as refused:
        services.delete_api_key(key=key)

    assert refused.value.code == "invalid_state"
    assert refused.value.message == "Deactivate this API key before deleting it."
    assert ApiKey.objects.filter(pk=key.pk).exists()


def test_an_inactive_key_can_be_deleted(key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)

    services.delete_api_key(key=key)

    assert not ApiKey.objects.filter(pk=key.pk).exists()


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(services.deactivate_api_key, id="deactivate"),
        pytest.param(services.activate_api_key, id="activate"),
        pytest.param(services.delete_api_key, id="delete"),
    ],
)
def test_acting_on_a_deleted_key_says_it_no_longer_exists(key_pair, action):
    key, _ = key_pair
    services.deactivate_api_key(key=key)
    services.delete_api_key(key=key)

    with pytest.raises(DomainError) as refused:
        action(key=key)

    assert refused.value.code == "not_found"


def test_deleting_the_environment_deletes_its_keys(key_pair, environment):
    key, _ = key_pair
    environment_services.delete_environment(environment=environment)

    assert not ApiKey.objects.filter(pk=key.pk).exists()


# --- authenticate -----------------------------------------------------------------------------


def test_the_right_pair_authenticates_its_key(key_pair):
    key, secret = key_pair
    assert usage.authenticate_api_key(access_key=key.access_key, secret=secret) == key


def _refusal(access_key: str, secret: str) -> DomainError:
    with pytest.raises(DomainError) as refused:
        usage.authenticate_api_key(access_key=access_key, secret=secret)
    return refused.value


def test_a_wrong_secret_and_an_unknown_access_key_get_the_same_message(key_pair):
    key, secret = key_pair
    wrong_secret = _refusal(key.access_key, crypto.generate_secret_key())
    unknown_key = _refusal(crypto.generate_access_key(), secret)

    assert (wrong_secret.code, wrong_secret.message) == ("authentication_failed", usage.INVALID_CREDENTIALS)
    assert (unknown_key.code, unknown_key.message) == (wrong_secret.code, wrong_secret.message)


@pytest.mark.parametrize(
    ("access_key", "secret"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("ekabcdefgh0123456789", None, id="lower-case-access-key"),
        pytest.param(None, "envk" + "a" * 46, id="secret-with-bad-checksum"),
        pytest.param(None, "not-a-secret", id="secret-of-the-wrong-shape"),
        pytest.param("EK" + "A" * 30, None, id="access-key-too-long"),
    ],
)
def test_malformed_credentials_are_refused_without_asking_the_database(
    key_pair, access_key, secret, django_assert_num_queries
):
    key, real_secret = key_pair
    with django_assert_num_queries(0):
        refusal = _refusal(
            key.access_key if access_key is None else access_key, real_secret if secret is None else secret
        )

    assert refusal.code == "authentication_failed"


def test_an_inactive_key_says_so_only_to_the_holder_of_its_secret(key_pair):
    key, secret = key_pair
    services.deactivate_api_key(key=key)

    assert _refusal(key.access_key, secret).code == "key_inactive"
    assert _refusal(key.access_key, crypto.generate_secret_key()).code == "authentication_failed"


def test_a_key_expires_when_the_clock_passes_its_expiry(environment, clock):
    key, secret = services.create_api_key(environment=environment, expires_at=clock.now + datetime.timedelta(hours=1))
    assert usage.authenticate_api_key(access_key=key.access_key, secret=secret) == key

    clock.advance(hours=1)

    refusal = _refusal(key.access_key, secret)
    assert (refusal.code, refusal.message) == ("key_expired", "This API key has expired.")
    assert _refusal(key.access_key, crypto.generate_secret_key()).code == "authentication_failed"


def test_an_expired_key_stays_active_in_the_database(environment, clock):
    key, _ = services.create_api_key(environment=environment, expires_at=clock.now + datetime.timedelta(minutes=1))
    clock.advance(minutes=2)

    key.refresh_from_db()
    assert key.state == State.ACTIVE
    assert key.is_expired(clock.now)
    assert not key.is_usable(clock.now)


def test_a_deleted_key_gets_the_generic_message(key_pair):
    key, secret = key_pair
    services.deactivate_api_key(key=key)
    services.delete_api_key(key=key)

    assert _refusal(key.access_key, secret).code == "authentication_failed"


def test_authentication_costs_one_query_once_use_was_recorded(key_pair, clock, django_assert_num_queries):
    key, secret = key_pair
    usage.authenticate_api_key(access_key=key.access_key, secret=secret)

    with django_assert_num_queries(1):
        usage.authenticate_api_key(access_key=key.access_key, secret=secret)


# --- record use -------------------------------------------------------------------------------


def test_the_first_use_records_the_time(key_pair, clock):
    key, secret = key_pair
    usage.authenticate_api_key(access_key=key.access_key, secret=secret)

    key.refresh_from_db()
    assert key.last_used_at == clock.now


def test_use_is_written_at_most_once_per_interval(key_pair, clock, settings, django_assert_num_queries):
    settings.APIKEY_LAST_USED_INTERVAL = 60
    key, _ = key_pair
    first_use = clock.now
    usage.record_key_use(key=key)

    clock.advance(seconds=59)
    with django_assert_num_queries(0):
        usage.record_key_use(key=key)
    key.refresh_from_db()
    assert key.last_used_at == first_use

    clock.advance(seconds=1)
    usage.record_key_use(key=key)
    key.refresh_from_db()
    assert key.last_used_at == clock.now


def test_a_stale_copy_does_not_write_use_another_worker_recorded(key_pair, clock):
    key, _ = key_pair
    stale = ApiKey.objects.get(pk=key.pk)
    usage.record_key_use(key=key)
    recorded = clock.now

    clock.advance(seconds=1)
    usage.record_key_use(key=stale)

    key.refresh_from_db()
    assert key.last_used_at == recorded


def test_a_failing_database_never_fails_the_request_that_used_the_key(key_pair, clock, monkeypatch):
    key, _ = key_pair

    def broken(*args, **kwargs):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(usage, "_write_last_used", broken)
    usage.record_key_use(key=key)

    monkeypatch.undo()
    key.refresh_from_db()
    assert key.last_used_at is None


@pytest.mark.parametrize(
    ("field", "length"),
    [pytest.param("name", 101, id="name"), pytest.param("description", 1001, id="description")],
)
def test_a_name_or_description_over_the_limit_is_refused_on_create_and_edit(environment, make_key, field, length):
    with pytest.raises(DomainError) as created:
        services.create_api_key(environment=environment, **{field: "x" * length})
    key, _ = make_key(environment, name="kept", description="kept")
    with pytest.raises(DomainError) as edited:
        services.update_api_key(key=key, **{field: "x" * length})

    assert (created.value.code, created.value.field) == ("max_length", field)
    assert (edited.value.code, edited.value.field) == ("max_length", field)
    assert ApiKey.objects.count() == 1
    key.refresh_from_db()
    assert (key.name, key.description) == ("kept", "kept")


def test_the_actions_a_key_offers_are_exactly_the_ones_its_services_accept(environment, make_key):
    active, _ = make_key(environment, name="active")
    inactive, _ = make_key(environment, name="inactive")
    services.deactivate_api_key(key=inactive)
    for key in (active, inactive):
        for action in ("deactivate", "activate", "delete"):
            try:
                with transaction.atomic():
                    getattr(services, f"{action}_api_key")(key=ApiKey.objects.get(pk=key.pk))
                    transaction.set_rollback(True)
                accepted = True
            except DomainError:
                accepted = False
            assert (action in key.allowed_actions) == accepted, (key.state, action)

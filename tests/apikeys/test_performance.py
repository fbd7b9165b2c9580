"""Costs pinned on the request path: queries per request, and the throttled last-used write."""

import contextlib
import datetime
import threading

import pytest
from django.db import DatabaseError, OperationalError, connection, transaction

from apikeys import selectors, services, usage
from apikeys.models import ApiKey, State
from environments import services as environment_services
from environments.models import Role
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(api_client, key_pair):
    """The API client sending the "production" key pair; returns the key."""
    key, secret = key_pair
    api_client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
    return key


def last_used(key: ApiKey):
    key.refresh_from_db()
    return key.last_used_at


def _detail(environment) -> str:
    return f"/api/v1/environments/{environment.pk}/"


def _key_list(environment, page_size: int) -> str:
    return f"/api/v1/environments/{environment.pk}/apikeys/?page_size={page_size}"


# --- The credential costs one query -----------------------------------------------------------


def test_steady_state_key_request_to_its_environment_is_exactly_one_query(
    api_client, credentials, environment, clock, django_assert_num_queries
):
    api_client.get(_detail(environment))  # first use: writes last_used_at
    clock.advance(seconds=30)
    with django_assert_num_queries(1) as captured:
        response = api_client.get(_detail(environment))
    assert response.status_code == 200
    assert response.json()["name"] == "production"
    # The one query loads the key and its environment together; the view reuses that environment.
    (query,) = captured.captured_queries
    assert '"apikeys_apikey"' in query["sql"]
    assert 'JOIN "environments_environment"' in query["sql"]


def test_key_lookup_of_an_unknown_access_key_returns_none(key_pair):
    assert selectors.key_for_authentication(access_key="EK000000000000000000") is None


def test_key_state_is_read_from_the_database_on_every_request(api_client, credentials, environment):
    assert api_client.get(_detail(environment)).status_code == 200
    # Another worker deactivates the key: this process has nothing cached that could let it in.
    ApiKey.objects.filter(pk=credentials.pk).update(state=State.INACTIVE)
    response = api_client.get(_detail(environment))
    assert response.status_code == 401
    assert response.json()["code"] == "key_inactive"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Basic !!!", id="not-base64"),
        pytest.param(basic_auth("not-a-key", "not-a-secret"), id="not-key-shaped"),
        pytest.param(basic_auth("EK000000000000000000", "envk" + "a" * 46), id="bad-checksum"),
    ],
)
def test_garbage_credentials_are_refused_without_a_query(api_client, environment, header, django_assert_num_queries):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    # The audit log's summary row of a minute's refusals is written at the 1st, 2nd, 4th, 8th, ...
    # refusal (about log2(N) writes for a flood of N): the 3rd is a flood's usual cost.
    for _ in range(2):
        assert api_client.get(_detail(environment)).status_code == 401
    with django_assert_num_queries(0):
        response = api_client.get(_detail(environment))
    assert response.status_code == 401


@pytest.mark.parametrize("wrong", [pytest.param("secret", id="wrong-secret"), pytest.param("access", id="unknown-key")])
def test_well_formed_wrong_credentials_cost_the_one_lookup(
    api_client, key_pair, environment, wrong, django_assert_num_queries
):
    key, secret = key_pair
    _, other_secret = services.create_api_key(environment=environment)
    access_key = key.access_key if wrong == "secret" else "EK000000000000000000"
    api_client.credentials(HTTP_AUTHORIZATION=basic_auth(access_key, other_secret if wrong == "secret" else secret))
    # The audit log's summary row of a minute's refusals is written at the 1st, 2nd, 4th, 8th, ...
    # refusal (about log2(N) writes for a flood of N): the 3rd is a flood's usual cost.
    for _ in range(2):
        assert api_client.get(_detail(environment)).status_code == 401
    with django_assert_num_queries(1):
        response = api_client.get(_detail(environment))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


# --- last_used_at: at most once per interval, never failing or waiting ------------------------


def test_last_used_is_written_on_first_use_then_once_per_interval(
    api_client, credentials, environment, clock, settings, django_assert_num_queries
):
    settings.APIKEY_LAST_USED_INTERVAL = 60
    assert last_used(credentials) is None

    api_client.get(_detail(environment))
    assert last_used(credentials) == clock.start

    clock.advance(seconds=59)
    with django_assert_num_queries(1):
        api_client.get(_detail(environment))
    assert last_used(credentials) == clock.start

    clock.advance(seconds=1)
    api_client.get(_detail(environment))
    assert last_used(credentials) == clock.start + datetime.timedelta(seconds=60)


def test_record_key_use_skips_the_write_when_another_worker_already_wrote(key_pair, clock):
    key, _ = key_pair
    stale = usage.authenticate_api_key(access_key=key.access_key, secret=key_pair[1])
    assert stale.last_used_at == clock.start
    # A second worker loaded the key before the first one's write and now sees it as due.
    stale.last_used_at = None
    clock.advance(seconds=10)
    assert (
        usage._write_last_used(key_id=key.pk, now=clock.now, threshold=clock.now - datetime.timedelta(seconds=60))
        is False
    )
    usage.record_key_use(key=stale)
    assert last_used(key) == clock.start


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(OperationalError("database is locked"), id="sqlite-busy"),
        pytest.param(OperationalError("canceling statement due to lock timeout"), id="lock-timeout"),
        pytest.param(DatabaseError("disk I/O error"), id="io-error"),
    ],
)
def test_a_failing_last_used_write_does_not_fail_the_request(api_client, credentials, environment, clock, error):
    def refuse_updates(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_updates):
        response = api_client.get(_detail(environment))
        assert response.status_code == 200
        assert response.json()["name"] == "production"
    assert last_used(credentials) is None
    # The connection is still usable, and the next request writes.
    assert api_client.get(_detail(environment)).status_code == 200
    assert last_used(credentials) == clock.start


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's busy timeout")
def test_the_last_used_write_on_sqlite_does_not_wait_for_the_write_lock(key_pair, clock):
    key, _ = key_pair
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        (configured,) = cursor.fetchone()
    with connection.execute_wrapper(record):
        usage.record_key_use(key=key)
    assert last_used(key) == clock.start
    update = next(index for index, sql in enumerate(statements) if sql.startswith("UPDATE"))
    assert "PRAGMA busy_timeout = 0" in statements[:update]
    assert statements[-1] == f"PRAGMA busy_timeout = {configured}"


@contextlib.contextmanager
def _held_by_another_transaction(take_lock):
    """Run ``take_lock()`` in a transaction of another thread's connection, and hold it for the block."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                take_lock()
                locked.set()
                release.wait(30)
        finally:
            connection.close()  # this thread's own connection

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
def test_the_last_used_write_on_postgresql_skips_a_locked_row_instead_of_waiting(key_pair, clock):
    key, _ = key_pair
    with _held_by_another_transaction(lambda: ApiKey.objects.select_for_update().filter(pk=key.pk).first()):
        threshold = clock.now - datetime.timedelta(seconds=60)
        # Skipped by SKIP LOCKED (returns False), not by a lock timeout (which would raise).
        assert usage._write_last_used(key_id=key.pk, now=clock.now, threshold=threshold) is False
    assert last_used(key) is None
    usage.record_key_use(key=key)
    assert last_used(key) == clock.start


def _lock_table_in_share_mode():
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {ApiKey._meta.db_table} IN SHARE MODE")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL table locks")
@pytest.mark.django_db(transaction=True)
def test_the_last_used_write_on_postgresql_gives_up_on_a_table_lock_held_by_a_migration(key_pair, clock):
    """A SHARE lock (what a plain CREATE INDEX takes) lets reads through but blocks every UPDATE."""
    key, _ = key_pair
    with _held_by_another_transaction(_lock_table_in_share_mode):
        usage.record_key_use(key=key)  # would wait for the release, and then write, without a lock timeout
        assert last_used(key) is None
    usage.record_key_use(key=key)
    assert last_used(key) == clock.start


# --- List pages: query counts do not grow with the page --------------------------------------


@pytest.fixture
def many_keys(environment, make_key, other_environment):
    for number in range(30):
        make_key(environment, name=f"key {number}")
    for number in range(3):
        make_key(other_environment, name=f"other {number}")


@pytest.mark.parametrize("page_size", [1, 5, 30])
def test_key_list_page_for_a_key_costs_three_queries_whatever_its_size(
    api_client, credentials, environment, many_keys, clock, page_size, django_assert_num_queries
):
    api_client.get(_detail(environment))  # first use: writes last_used_at
    clock.advance(seconds=1)
    # The credential (key with its environment), the count, the page.
    with django_assert_num_queries(3):
        response = api_client.get(_key_list(environment, page_size))
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [1, 5, 30])
def test_key_list_page_for_a_member_costs_the_same_whatever_its_size(
    api_client_for, member, environment, many_keys, page_size, django_assert_num_queries
):
    client = api_client_for(member)
    # Session, user, the environment, the member's role, the count, the page.
    with django_assert_num_queries(6):
        response = client.get(_key_list(environment, page_size))
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    assert all(item["actions"] for item in response.json()["results"])


@pytest.mark.parametrize("environments", [1, 12])
def test_environment_list_for_a_user_costs_the_same_whatever_its_length(
    api_client_for, owner, environment, environments, django_assert_num_queries
):
    for number in range(environments - 1):
        environment_services.create_environment(name=f"env {number}", owner=owner)
    client = api_client_for(owner)
    # Session, user, the count, the page.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/environments/?page_size=50")
    assert response.status_code == 200
    assert response.json()["count"] == environments


@pytest.mark.parametrize("page_size", [1, 10])
def test_environment_list_for_a_read_only_member_does_not_grow_with_the_page(
    api_client_for, reader, owner, environment, page_size, django_assert_num_queries
):
    for number in range(10):
        created = environment_services.create_environment(name=f"team {number}", owner=owner)
        environment_services.add_member(environment=created, username=reader.username, role=Role.READ_ONLY)
    client = api_client_for(reader)
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/environments/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size

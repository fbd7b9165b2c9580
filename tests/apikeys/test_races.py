"""Concurrent lifecycle actions on one key, as real concurrent requests on PostgreSQL.

Every round starts one key (active or inactive) and fires deactivate, activate, delete, an edit
and two requests authenticated with the key at the same moment, each from its own thread with its
own database connection. The answers must be explainable by *some* order of the six actions (the
order is what the database decided): every action either applied or was refused with the status
its turn in that order calls for, never a 500, and the key ends in the state that order leads to.
So an active key is never deleted, and no action that answered 200/204 is lost.
"""

import itertools
import re
import threading
from dataclasses import dataclass

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models.signals import pre_delete
from django.test import Client
from rest_framework.test import APIClient

from apikeys import services as key_services
from apikeys.models import ApiKey, State
from tests.support import engines
from tests.support.auth import basic_auth

ROUNDS = 24
DELETED = "deleted"


@dataclass(frozen=True)
class Outcome:
    """What one request was answered: the status and the error code (None on success)."""

    status: int
    code: str | None = None


# What each action is answered in each state of the key, and the state it leaves.
ACTIONS = {
    "deactivate": {
        State.ACTIVE: (Outcome(200), State.INACTIVE),
        State.INACTIVE: (Outcome(409, "invalid_state"), State.INACTIVE),
        DELETED: (Outcome(404, "not_found"), DELETED),
    },
    "activate": {
        State.ACTIVE: (Outcome(409, "invalid_state"), State.ACTIVE),
        State.INACTIVE: (Outcome(200), State.ACTIVE),
        DELETED: (Outcome(404, "not_found"), DELETED),
    },
    "delete": {
        State.ACTIVE: (Outcome(409, "invalid_state"), State.ACTIVE),
        State.INACTIVE: (Outcome(204), DELETED),
        DELETED: (Outcome(404, "not_found"), DELETED),
    },
    "edit": {
        State.ACTIVE: (Outcome(200), State.ACTIVE),
        State.INACTIVE: (Outcome(200), State.INACTIVE),
        DELETED: (Outcome(404, "not_found"), DELETED),
    },
    "use-1": {
        State.ACTIVE: (Outcome(200), State.ACTIVE),
        State.INACTIVE: (Outcome(401, "key_inactive"), State.INACTIVE),
        DELETED: (Outcome(401, "authentication_failed"), DELETED),
    },
}
ACTIONS["use-2"] = ACTIONS["use-1"]


def explaining_order(start: str, outcomes: dict[str, Outcome], final: str) -> tuple[str, ...] | None:
    """Return an order of the actions that yields exactly these outcomes and this final state, or None."""
    for order in itertools.permutations(outcomes):
        state = start
        for action in order:
            expected, state_after = ACTIONS[action][state]
            if outcomes[action] != expected:
                break
            state = state_after
        else:
            if state == final:
                return order
    return None


def test_explaining_order_rejects_an_active_key_that_was_deleted():
    """The checker itself: a deletion that only an active key could have undergone has no order."""
    outcomes = {"deactivate": Outcome(409, "invalid_state"), "delete": Outcome(204)}
    assert explaining_order(State.ACTIVE, outcomes, DELETED) is None
    assert explaining_order(State.INACTIVE, outcomes, DELETED) == ("deactivate", "delete")


def _request(client: APIClient, action: str, key_id: int, environment_id: int):
    keys = f"/api/v1/environments/{environment_id}/apikeys/"
    if action == "deactivate":
        return client.post(f"{keys}{key_id}/deactivate/")
    if action == "activate":
        return client.post(f"{keys}{key_id}/activate/")
    if action == "delete":
        return client.delete(f"{keys}{key_id}/")
    if action == "edit":
        return client.patch(f"{keys}{key_id}/", {"name": "edited"}, format="json")
    return client.get(f"/api/v1/environments/{environment_id}/")


def _run_concurrently(clients: dict[str, APIClient], key_id: int, environment_id: int) -> dict[str, Outcome]:
    """Send every action at the same moment, each from its own thread and database connection."""
    barrier = threading.Barrier(len(clients))
    outcomes: dict[str, Outcome] = {}
    failures: list[BaseException] = []

    def run(action: str):
        try:
            barrier.wait(timeout=30)
            response = _request(clients[action], action, key_id, environment_id)
            code = response.json().get("code") if response.status_code >= 400 else None
            outcomes[action] = Outcome(response.status_code, code)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not failures, failures
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_concurrent_lifecycle_actions_on_one_key_always_leave_a_consistent_state(environment, owner, make_key):
    engines.require_postgresql()
    for round_number in range(ROUNDS):
        start = State.ACTIVE if round_number % 2 == 0 else State.INACTIVE
        key, secret = make_key(environment, name=f"raced-{round_number}")
        if start == State.INACTIVE:
            key_services.deactivate_api_key(key=key)
        clients = {}
        for action in ACTIONS:
            client = APIClient(raise_request_exception=False)
            if action.startswith("use"):
                client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
            else:
                client.force_authenticate(owner)
            clients[action] = client

        outcomes = _run_concurrently(clients, key.pk, environment.pk)

        row = ApiKey.objects.filter(pk=key.pk).values("state", "name").first()
        final = DELETED if row is None else row["state"]
        order = explaining_order(start, outcomes, final)
        assert order is not None, f"round {round_number}: from {start}, answers {outcomes} and final state {final}"
        if row is not None and outcomes["edit"] == Outcome(200):
            assert row["name"] == "edited"


@pytest.mark.django_db(transaction=True)
def test_key_activated_while_it_is_being_deleted_is_not_deleted_active(environment, make_key):
    """Deleting a key holds its row from the state check to the DELETE, even when Django deletes in two steps.

    A pre_delete receiver makes Django delete the way it does as soon as anything references keys
    (a SELECT, then a DELETE by id). Between the two, another connection tries to activate the key
    without waiting for locks: it must find the row locked, so the key deleted is the inactive one.
    """
    engines.require_postgresql()
    key, _ = make_key(environment, name="raced")
    key_services.deactivate_api_key(key=key)
    attempts = []

    def activate_from_another_connection():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '100ms'")
                attempts.append(ApiKey.objects.filter(pk=key.pk, state=State.INACTIVE).update(state=State.ACTIVE))
        except OperationalError as error:
            attempts.append(type(error.__cause__).__name__)
        finally:
            connection.close()

    def between_check_and_delete(sender, instance, **kwargs):
        thread = threading.Thread(target=activate_from_another_connection)
        thread.start()
        thread.join()

    pre_delete.connect(between_check_and_delete, sender=ApiKey, dispatch_uid="race-probe")
    try:
        key_services.delete_api_key(key=key)
    finally:
        pre_delete.disconnect(sender=ApiKey, dispatch_uid="race-probe")

    assert attempts == ["LockNotAvailable"]
    assert not ApiKey.objects.filter(pk=key.pk).exists()


def _post_at_once(signed_in: Client, url: str, data: dict, count: int) -> list[int]:
    """Post ``data`` ``count`` times at the same moment in the signed-in session; return the statuses."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def post():
        client = Client(raise_request_exception=False)
        client.cookies = signed_in.cookies
        try:
            barrier.wait(timeout=30)
            statuses.append(client.post(url, data).status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not failures, failures
    return statuses


@pytest.mark.django_db(transaction=True)
def test_one_add_key_form_posted_many_times_at_once_creates_one_key(environment, owner):
    """A double click without JavaScript, or a hurried script: posts of one form that all reach the server at once."""
    engines.require_postgresql()
    signed_in = Client()
    signed_in.force_login(owner)
    add_url = f"/environments/{environment.pk}/api/keys/add/"
    for round_number in range(5):
        page = signed_in.get(add_url).content.decode()
        form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
        data = {"name": f"twice-{round_number}", "permission": "read-write", "expires": "30", "form_id": form_id}
        statuses = _post_at_once(signed_in, add_url, data, 6)
        # One post created the key and showed its secret; every other one was answered as a repeat.
        assert statuses.count(200) == 1, statuses
        assert set(statuses) <= {200, 302, 409}, statuses
        assert ApiKey.objects.filter(environment=environment, name=f"twice-{round_number}").count() == 1

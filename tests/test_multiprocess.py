"""Separate app server processes on one PostgreSQL database and one Redis act as one service.

Runs on the PostgreSQL pass (DATABASE_URL=postgres://..., CACHE_URL=redis://...); skips otherwise.
"""

import pytest

from apikeys import crypto
from apikeys import services as key_services
from apikeys.models import ApiKey, State

pytestmark = pytest.mark.slow


def test_key_deactivated_through_one_server_is_refused_by_the_other_on_the_next_request(app_servers, environment):
    first, second = app_servers(2)
    manager, manager_secret = key_services.create_api_key(environment=environment, name="manager")
    manager_pair = (manager.access_key, manager_secret)
    keys_path = f"/api/v1/environments/{environment.pk}/apikeys/"
    endpoint = f"/api/v1/environments/{environment.pk}/"

    created = first.request("POST", keys_path, auth=manager_pair, data={"name": "shared"})
    assert created.status == 201, created.body
    key_id = created.json()["id"]
    pair = (created.json()["access_key"], created.json()["secret_key"])
    for server in (first, second):
        used = server.request("GET", endpoint, auth=pair)
        assert used.status == 200, (server.name, used.body)

    deactivated = first.request("POST", f"{keys_path}{key_id}/deactivate/", auth=manager_pair)
    assert deactivated.status == 200, deactivated.body
    refused = second.request("GET", endpoint, auth=pair)

    assert refused.status == 401
    assert refused.json() == {"code": "key_inactive", "detail": "This API key is inactive."}
    assert ApiKey.objects.get(pk=key_id).state == State.INACTIVE


def test_key_activated_through_one_server_is_accepted_by_the_other_on_the_next_request(
    app_servers, environment, make_key
):
    first, second = app_servers(2)
    manager, manager_secret = make_key(environment, name="manager")
    key, secret = make_key(environment, name="shared")
    key_services.deactivate_api_key(key=key)
    assert first.request("GET", f"/api/v1/environments/{environment.pk}/", auth=(key.access_key, secret)).status == 401

    activated = second.request(
        "POST",
        f"/api/v1/environments/{environment.pk}/apikeys/{key.pk}/activate/",
        auth=(manager.access_key, manager_secret),
    )
    assert activated.status == 200, activated.body
    accepted = first.request("GET", f"/api/v1/environments/{environment.pk}/", auth=(key.access_key, secret))

    assert accepted.status == 200, accepted.body
    key.refresh_from_db()
    assert key.state == State.ACTIVE


def test_failed_attempts_against_one_server_count_towards_the_limit_on_the_other(app_servers, environment, make_key):
    first, second = app_servers(2, AUTH_FAILURE_RATE_PER_ADDRESS="3/min", AUTH_FAILURE_RATE_PER_KEY="")
    key, _secret = make_key(environment, name="guessed")
    wrong_pair = (key.access_key, crypto.generate_secret_key())
    endpoint = f"/api/v1/environments/{environment.pk}/"
    for _ in range(3):
        assert first.request("GET", endpoint, auth=wrong_pair).status == 401

    over_the_limit = second.request("GET", endpoint, auth=wrong_pair)

    assert over_the_limit.status == 429, over_the_limit.body
    assert over_the_limit.json()["code"] == "throttled"
    assert int(over_the_limit.headers["Retry-After"]) > 0
    # The second server has now seen this address fail: it refuses it before checking any secret.
    assert second.request("GET", endpoint, auth=wrong_pair).status == 429

"""The key lifecycle is one table (``apikeys.models.LIFECYCLE``): every entry point reads it, none restates it."""

import pytest
from django.contrib.admin.sites import site
from django.db import transaction
from django.test import RequestFactory

from apikeys import services
from apikeys.models import LIFECYCLE, REFUSALS, Action, ApiKey, State
from common.errors import DomainError

SERVICES = {
    Action.DEACTIVATE: services.deactivate_api_key,
    Action.ACTIVATE: services.activate_api_key,
    Action.DELETE: services.delete_api_key,
}
CASES = [pytest.param(state, action, id=f"{state}-{action}") for state in State.values for action in Action.values]


@pytest.fixture
def key_in(environment, make_key):
    """Return a factory of keys in a given state."""

    def make(state: str) -> ApiKey:
        key, _ = make_key(environment, name=state)
        if state == State.INACTIVE:
            services.deactivate_api_key(key=key)
        return ApiKey.objects.get(pk=key.pk)

    return make


def test_every_state_and_action_is_in_the_table():
    assert set(LIFECYCLE) == set(State.values)
    assert set(REFUSALS) == set(Action.values)
    assert {action for actions in LIFECYCLE.values() for action in actions} == set(Action.values)


@pytest.mark.parametrize(("state", "action"), CASES)
def test_the_services_accept_exactly_what_the_table_allows_and_refuse_with_its_message(key_in, state, action):
    key = key_in(state)
    allowed = action in LIFECYCLE[state]
    assert key.allows(action) == allowed
    assert (action in key.allowed_actions) == allowed
    try:
        with transaction.atomic():
            SERVICES[action](key=key)
            transaction.set_rollback(True)
    except DomainError as exc:
        assert not allowed
        assert (exc.code, exc.message) == ("invalid_state", REFUSALS[action])
    else:
        assert allowed


@pytest.mark.parametrize("state", State.values)
def test_the_api_offers_the_actions_of_the_table(api_client_for, owner, environment, key_in, state):
    key = key_in(state)
    body = api_client_for(owner).get(f"/api/v1/environments/{environment.pk}/apikeys/{key.pk}/").json()
    assert set(body["actions"]) == set(LIFECYCLE[state])


@pytest.mark.parametrize("state", State.values)
def test_the_dashboard_menu_offers_the_actions_of_the_table(web_client_for, owner, environment, key_in, state):
    key = key_in(state)
    page = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    for action in Action.values:
        url = f"/environments/{environment.pk}/api/keys/{key.pk}/{action}/"
        assert (url in page) == (action in LIFECYCLE[state]), action


@pytest.mark.parametrize("state", State.values)
def test_the_admin_lets_delete_exactly_what_the_table_allows(superuser, key_in, state):
    key = key_in(state)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    assert site._registry[ApiKey].has_delete_permission(request, key) == (Action.DELETE in LIFECYCLE[state])


@pytest.mark.parametrize("state", State.values)
def test_the_dashboard_refuses_to_confirm_a_delete_with_the_tables_message(
    web_client_for, owner, environment, key_in, state
):
    key = key_in(state)
    response = web_client_for(owner).get(f"/environments/{environment.pk}/api/keys/{key.pk}/delete/", follow=True)
    if Action.DELETE in LIFECYCLE[state]:
        assert response.templates[0].name == "apikeys/key_confirm_delete.html"
    else:
        assert [str(message) for message in response.context["messages"]] == [REFUSALS[Action.DELETE]]

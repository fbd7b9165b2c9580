"""The environment and member API over HTTP: roles, keys, owners and isolation."""

import pytest
from rest_framework.test import APIClient

from apikeys.models import Permission
from environments.models import Environment, Membership, Role
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
ENVIRONMENTS = "/api/v1/environments/"


def env_url(environment: Environment, suffix: str = "") -> str:
    return f"{ENVIRONMENTS}{environment.pk}/{suffix}"


def member_url(membership: Membership) -> str:
    return f"{ENVIRONMENTS}{membership.environment_id}/members/{membership.pk}/"


def membership_of(environment, user) -> Membership:
    return Membership.objects.get(environment=environment, user=user)


@pytest.fixture
def read_only_key_client(environment, make_key):
    key, secret = make_key(environment, permission=Permission.READ_ONLY)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
    return client


# --- environments by role ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "read", "edit", "delete"),
    [
        pytest.param("owner", 200, 200, 204, id="owner"),
        pytest.param("member", 200, 403, 403, id="member"),
        pytest.param("reader", 200, 403, 403, id="read-only"),
        pytest.param("outsider", 404, 404, 404, id="outsider"),
        pytest.param("superuser", 200, 200, 204, id="superuser"),
    ],
)
def test_each_role_reads_edits_and_deletes_as_allowed(request, api_client_for, environment, who, read, edit, delete):
    client = api_client_for(request.getfixturevalue(who))

    assert client.get(env_url(environment)).status_code == read
    edited = client.patch(env_url(environment), {"description": "changed"}, format="json")
    assert edited.status_code == edit
    environment.refresh_from_db()
    assert environment.description == ("changed" if edit == 200 else "Live systems")

    assert client.delete(env_url(environment)).status_code == delete
    assert Environment.objects.filter(pk=environment.pk).exists() is (delete != 204)


def test_a_refusal_for_a_read_only_member_is_a_json_403(api_client_for, reader, environment):
    response = api_client_for(reader).patch(env_url(environment), {"name": "x"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "You do not have permission to perform this action.",
    }


def test_users_list_only_their_environments(api_client_for, owner, outsider, superuser, environment, other_environment):
    def names(user):
        return [item["name"] for item in api_client_for(user).get(ENVIRONMENTS).json()["results"]]

    assert names(owner) == ["production"]
    assert names(outsider) == ["staging"]
    assert names(superuser) == ["production", "staging"]


def test_creating_an_environment_makes_the_creator_its_owner(api_client_for, outsider):
    response = api_client_for(outsider).post(ENVIRONMENTS, {"name": "qa", "description": "Testing"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["name"], body["description"]) == ("environment", "qa", "Testing")
    assert body["links"]["self"] == f"{BASE}{ENVIRONMENTS}{body['id']}/"
    assert membership_of(Environment.objects.get(pk=body["id"]), outsider).role == Role.OWNER


def test_a_taken_name_is_a_409(api_client_for, outsider, environment):
    response = api_client_for(outsider).post(ENVIRONMENTS, {"name": "production"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "name_taken"
    assert list(response.json()["errors"]) == ["name"]
    assert Environment.objects.filter(name="production").count() == 1


def test_renaming_to_a_taken_name_is_a_409(api_client_for, owner, environment, other_environment):
    response = api_client_for(owner).patch(env_url(environment), {"name": "staging"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "name_taken"
    environment.refresh_from_db()
    assert environment.name == "production"


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        pytest.param({}, "name", "required", id="missing-name"),
        pytest.param({"name": "   "}, "name", "blank", id="blank-name"),
        pytest.param({"name": "x" * 101}, "name", "max_length", id="long-name"),
        pytest.param({"name": "qa", "id": 5}, "id", "read_only_field", id="id"),
        pytest.param(
            {"name": "qa", "created_at": "2020-01-01T00:00:00Z"}, "created_at", "read_only_field", id="created"
        ),
        pytest.param({"name": "qa", "owner": "oscar"}, "owner", "unknown_field", id="unknown-field"),
    ],
)
def test_bad_environment_input_is_a_400_naming_the_field(api_client_for, outsider, data, field, code):
    response = api_client_for(outsider).post(ENVIRONMENTS, data, format="json")

    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["errors"])) == (code, [field])
    assert not Environment.objects.exists()


# --- environments and keys --------------------------------------------------------------------


def test_a_key_cannot_create_an_environment(key_client):
    response = key_client.post(ENVIRONMENTS, {"name": "sneaky"}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "Environment API keys cannot create environments.",
    }
    assert not Environment.objects.filter(name="sneaky").exists()


def test_a_key_cannot_delete_its_own_environment(key_client, environment):
    response = key_client.delete(env_url(environment))

    assert response.status_code == 403
    assert Environment.objects.filter(pk=environment.pk).exists()


def test_a_read_write_key_may_edit_its_environment(key_client, environment):
    response = key_client.patch(env_url(environment), {"description": "edited by a key"}, format="json")

    assert response.status_code == 200
    environment.refresh_from_db()
    assert environment.description == "edited by a key"


def test_a_read_only_key_may_read_but_not_edit_its_environment(read_only_key_client, environment):
    assert read_only_key_client.get(env_url(environment)).status_code == 200
    assert read_only_key_client.patch(env_url(environment), {"name": "x"}, format="json").status_code == 403
    environment.refresh_from_db()
    assert environment.name == "production"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_key_cannot_see_or_manage_members(key_client, environment, method):
    response = getattr(key_client, method)(env_url(environment, "members/"), {"username": "oscar", "role": "member"})

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "detail": "Members are managed by people, not by environment API keys.",
    }
    assert environment.memberships.count() == 3


def test_a_key_gets_404_for_another_environment_and_for_its_members(key_client, other_environment):
    assert key_client.get(env_url(other_environment)).status_code == 404
    assert key_client.get(env_url(other_environment, "members/")).status_code == 404


@pytest.mark.parametrize("method", ["get", "head", "options", "put", "patch", "delete"])
@pytest.mark.parametrize("suffix", ["", "apikeys/", "members/", "events/"])
def test_a_key_gets_404_for_another_environment_whatever_the_method(key_client, other_environment, method, suffix):
    response = getattr(key_client, method)(env_url(other_environment, suffix))

    assert response.status_code == 404
    if method != "head":
        assert response.json() == {"code": "not_found", "detail": "Not found."}


@pytest.mark.parametrize("client_of", ["key", "outsider"])
def test_options_on_another_environment_is_a_404_like_every_other_method(
    key_client, api_client_for, outsider, environment, other_environment, client_of
):
    client, hidden = (key_client, other_environment) if client_of == "key" else (api_client_for(outsider), environment)

    response = client.options(env_url(hidden))

    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_options_on_the_own_environment_still_describes_it(key_client, environment):
    response = key_client.options(env_url(environment))

    assert response.status_code == 200
    assert response.json()["name"] == "Environment Instance"


# --- members ----------------------------------------------------------------------------------


def test_members_are_listed_to_everyone_in_the_environment(api_client_for, reader, environment):
    response = api_client_for(reader).get(env_url(environment, "members/"))

    assert response.status_code == 200
    assert [(item["username"], item["role"]) for item in response.json()["results"]] == [
        ("marco", "member"),
        ("olivia", "owner"),
        ("rita", "read-only"),
    ]
    assert response.json()["results"][0]["type"] == "member"


def test_an_owner_adds_re_roles_and_removes_a_member(api_client_for, owner, outsider, environment):
    client = api_client_for(owner)

    added = client.post(env_url(environment, "members/"), {"username": "oscar", "role": "read-only"}, format="json")
    assert added.status_code == 201
    assert membership_of(environment, outsider).role == Role.READ_ONLY

    changed = client.patch(added.json()["links"]["self"], {"role": "member"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["role"] == "member"
    assert membership_of(environment, outsider).role == Role.MEMBER

    assert client.delete(added.json()["links"]["self"]).status_code == 204
    assert not environment.memberships.filter(user=outsider).exists()


@pytest.mark.parametrize("who", ["member", "reader"])
def test_only_owners_manage_members(request, api_client_for, environment, outsider, owner, who):
    client = api_client_for(request.getfixturevalue(who))

    assert client.post(env_url(environment, "members/"), {"username": "oscar", "role": "owner"}).status_code == 403
    assert client.patch(member_url(membership_of(environment, owner)), {"role": "member"}).status_code == 403
    assert client.delete(member_url(membership_of(environment, owner))).status_code == 403
    assert membership_of(environment, owner).role == Role.OWNER
    assert not environment.memberships.filter(user=outsider).exists()


def test_the_last_owner_cannot_be_demoted_or_removed(api_client_for, owner, environment):
    client = api_client_for(owner)
    url = member_url(membership_of(environment, owner))

    demoted = client.patch(url, {"role": "member"}, format="json")
    removed = client.delete(url)

    for response in (demoted, removed):
        assert response.status_code == 409
        assert response.json() == {"code": "last_owner", "detail": "An environment must keep at least one owner."}
    assert membership_of(environment, owner).role == Role.OWNER


@pytest.mark.parametrize(
    ("data", "status", "code", "field"),
    [
        pytest.param({"username": "nobody", "role": "member"}, 400, "invalid", "username", id="unknown-user"),
        pytest.param({"username": "marco", "role": "member"}, 409, "already_member", "username", id="already-in"),
        pytest.param({"username": "oscar", "role": "boss"}, 400, "invalid_choice", "role", id="unknown-role"),
        pytest.param({"role": "member"}, 400, "required", "username", id="no-username"),
    ],
)
def test_bad_member_input_is_refused_naming_the_field(
    api_client_for, owner, outsider, environment, data, status, code, field
):
    response = api_client_for(owner).post(env_url(environment, "members/"), data, format="json")

    assert response.status_code == status
    assert (response.json()["code"], list(response.json()["errors"])) == (code, [field])
    assert environment.memberships.count() == 3


def test_a_memberships_user_cannot_change(api_client_for, owner, member, environment):
    response = api_client_for(owner).patch(
        member_url(membership_of(environment, member)), {"username": "oscar"}, format="json"
    )

    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["errors"])) == ("read_only_field", ["username"])


def test_a_member_of_another_environment_is_not_found(api_client_for, owner, outsider, other_environment):
    response = api_client_for(owner).get(member_url(membership_of(other_environment, outsider)))

    assert response.status_code == 404


# --- access control ---------------------------------------------------------------------------


def test_with_access_control_on_anonymous_requests_are_401(api_client, environment):
    assert api_client.get(ENVIRONMENTS).status_code == 401
    assert api_client.post(ENVIRONMENTS, {"name": "x"}).status_code == 401
    assert api_client.get(env_url(environment, "members/")).status_code == 401
    assert not Environment.objects.filter(name="x").exists()


def test_with_access_control_off_anonymous_may_manage_environments_and_members(
    settings, api_client, environment, outsider, owner
):
    settings.ACCESS_CONTROL = False

    created = api_client.post(ENVIRONMENTS, {"name": "open"}, format="json")
    assert created.status_code == 201
    assert not Membership.objects.filter(environment_id=created.json()["id"]).exists()
    assert api_client.post(env_url(environment, "members/"), {"username": "oscar", "role": "owner"}).status_code == 201
    assert api_client.patch(member_url(membership_of(environment, owner)), {"role": "member"}).status_code == 200
    assert api_client.delete(env_url(environment)).status_code == 204
    assert list(Environment.objects.values_list("name", flat=True)) == ["open"]

"""Environments and memberships: lifecycle rules in services, read rules in selectors."""

import pytest
from django.contrib.auth.models import AnonymousUser

from apikeys.authentication import ApiKeyUser
from apikeys.models import ApiKey, Permission
from common.errors import DomainError
from environments import selectors, services
from environments.models import Environment, Membership, Role

pytestmark = pytest.mark.django_db


def _role(environment, user):
    return Membership.objects.filter(environment=environment, user=user).values_list("role", flat=True).first()


# --- environments -----------------------------------------------------------------------------


def test_creating_an_environment_makes_the_creator_its_owner(make_user):
    creator = make_user("carla")

    environment = services.create_environment(name=" qa ", description="Testing", owner=creator)

    environment.refresh_from_db()
    assert (environment.name, environment.description) == ("qa", "Testing")
    assert list(environment.memberships.values_list("user__username", "role")) == [("carla", Role.OWNER)]


def test_an_environment_may_be_created_without_an_owner():
    environment = services.create_environment(name="qa")

    assert not environment.memberships.exists()


@pytest.mark.parametrize("name", [pytest.param("", id="empty"), pytest.param("   ", id="blank")])
def test_an_environment_needs_a_name(name):
    with pytest.raises(DomainError) as refused:
        services.create_environment(name=name)

    assert (refused.value.code, refused.value.field) == ("required", "name")
    assert not Environment.objects.exists()


def test_environment_names_are_unique(environment, make_user):
    with pytest.raises(DomainError) as refused:
        services.create_environment(name="production", owner=make_user("carla"))

    assert (refused.value.code, refused.value.field) == ("name_taken", "name")
    assert Environment.objects.count() == 1
    assert not Membership.objects.filter(user__username="carla").exists()


def test_update_changes_name_and_description(environment):
    services.update_environment(environment=environment, name="prod", description="")

    environment.refresh_from_db()
    assert (environment.name, environment.description) == ("prod", "")


def test_renaming_to_a_taken_name_is_refused(environment, other_environment):
    with pytest.raises(DomainError) as refused:
        services.update_environment(environment=other_environment, name="production")

    assert refused.value.code == "name_taken"
    other_environment.refresh_from_db()
    assert other_environment.name == "staging"


def test_updating_a_deleted_environment_is_refused(environment):
    Environment.objects.filter(pk=environment.pk).delete()

    with pytest.raises(DomainError) as refused:
        services.update_environment(environment=environment, name="ghost")

    assert refused.value.code == "not_found"


def test_deleting_an_environment_removes_its_members_and_keys(environment, make_key):
    make_key(environment)

    services.delete_environment(environment=environment)

    assert not Environment.objects.filter(pk=environment.pk).exists()
    assert not Membership.objects.exists()
    assert not ApiKey.objects.exists()


def test_deleting_an_environment_twice_is_refused(environment):
    services.delete_environment(environment=environment)

    with pytest.raises(DomainError) as refused:
        services.delete_environment(environment=environment)

    assert refused.value.code == "not_found"


# --- members ----------------------------------------------------------------------------------


def test_adding_a_member_gives_them_the_role(environment, outsider):
    membership = services.add_member(environment=environment, username="oscar", role=Role.READ_ONLY)

    assert membership.user == outsider
    assert _role(environment, outsider) == Role.READ_ONLY


@pytest.mark.parametrize(
    ("username", "role", "code", "field"),
    [
        pytest.param("nobody", Role.MEMBER, "invalid", "username", id="unknown-user"),
        pytest.param("oscar", "admin", "invalid", "role", id="unknown-role"),
        pytest.param("marco", Role.MEMBER, "already_member", "username", id="already-a-member"),
    ],
)
def test_adding_a_member_refuses_bad_input(environment, outsider, username, role, code, field):
    with pytest.raises(DomainError) as refused:
        services.add_member(environment=environment, username=username, role=role)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert environment.memberships.count() == 3


def test_the_last_owner_cannot_be_demoted(environment, owner):
    membership = Membership.objects.get(environment=environment, user=owner)

    with pytest.raises(DomainError) as refused:
        services.change_member_role(membership=membership, role=Role.MEMBER)

    assert refused.value.code == "last_owner"
    assert _role(environment, owner) == Role.OWNER


def test_the_last_owner_cannot_be_removed(environment, owner):
    membership = Membership.objects.get(environment=environment, user=owner)

    with pytest.raises(DomainError) as refused:
        services.remove_member(membership=membership)

    assert refused.value.code == "last_owner"
    assert _role(environment, owner) == Role.OWNER


def test_an_owner_may_step_down_once_there_is_another_owner(environment, owner, member):
    services.change_member_role(
        membership=Membership.objects.get(environment=environment, user=member), role=Role.OWNER
    )

    services.change_member_role(
        membership=Membership.objects.get(environment=environment, user=owner), role=Role.MEMBER
    )
    services.remove_member(membership=Membership.objects.get(environment=environment, user=owner))

    assert _role(environment, owner) is None
    assert _role(environment, member) == Role.OWNER


def test_the_owner_check_reads_the_database_not_a_stale_copy(environment, owner, member):
    services.change_member_role(
        membership=Membership.objects.get(environment=environment, user=member), role=Role.OWNER
    )
    stale_member = Membership.objects.get(environment=environment, user=member)
    services.change_member_role(
        membership=Membership.objects.get(environment=environment, user=owner), role=Role.MEMBER
    )

    stale_member.role = Role.MEMBER  # what a form or another worker may still believe
    with pytest.raises(DomainError) as refused:
        services.remove_member(membership=stale_member)

    assert refused.value.code == "last_owner"


def test_members_and_readers_can_be_removed_and_re_roled(environment, member, reader):
    services.change_member_role(
        membership=Membership.objects.get(environment=environment, user=reader), role=Role.MEMBER
    )
    services.remove_member(membership=Membership.objects.get(environment=environment, user=member))

    assert _role(environment, reader) == Role.MEMBER
    assert _role(environment, member) is None


def test_changing_to_an_unknown_role_is_refused(environment, member):
    with pytest.raises(DomainError) as refused:
        services.change_member_role(
            membership=Membership.objects.get(environment=environment, user=member), role="boss"
        )

    assert (refused.value.code, refused.value.field) == ("invalid", "role")


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("owner", selectors.FULL_ACCESS, id="owner"),
        pytest.param("member", selectors.Access(view=True, manage_keys=True), id="member"),
        pytest.param("reader", selectors.Access(view=True), id="read-only"),
        pytest.param("outsider", selectors.NO_ACCESS, id="outsider"),
        pytest.param("superuser", selectors.FULL_ACCESS, id="superuser"),
    ],
)
def test_each_role_gets_its_access(request, environment, who, expected):
    actor = request.getfixturevalue(who)

    assert selectors.access_for(actor=actor, environment=environment) == expected


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        pytest.param(Permission.READ_WRITE, selectors.Access(view=True, edit=True, manage_keys=True), id="read-write"),
        pytest.param(Permission.READ_ONLY, selectors.Access(view=True), id="read-only"),
    ],
)
def test_a_key_acts_only_within_its_own_environment(environment, other_environment, make_key, permission, expected):
    key, _ = make_key(environment, permission=permission)
    actor = ApiKeyUser(key)

    assert selectors.access_for(actor=actor, environment=environment) == expected
    assert selectors.access_for(actor=actor, environment=other_environment) == selectors.NO_ACCESS
    assert list(selectors.environments_visible_to(actor=actor)) == [environment]
    assert selectors.visible_environment(actor=actor, environment_id=other_environment.pk) is None
    assert not selectors.can_create_environment(actor=actor)


def test_users_see_only_the_environments_they_belong_to(environment, other_environment, owner, outsider, superuser):
    assert list(selectors.environments_visible_to(actor=owner)) == [environment]
    assert list(selectors.environments_visible_to(actor=outsider)) == [other_environment]
    assert set(selectors.environments_visible_to(actor=superuser)) == {environment, other_environment}
    assert list(selectors.environments_visible_to(actor=AnonymousUser())) == []


def test_any_signed_in_user_may_create_an_environment_but_not_anonymous(outsider):
    assert selectors.can_create_environment(actor=outsider)
    assert not selectors.can_create_environment(actor=AnonymousUser())


def test_with_access_control_off_anonymous_may_do_everything_and_keys_stay_scoped(
    settings, environment, other_environment, make_key
):
    settings.ACCESS_CONTROL = False
    key, _ = make_key(environment)

    assert selectors.access_for(actor=AnonymousUser(), environment=environment) == selectors.FULL_ACCESS
    assert selectors.can_create_environment(actor=AnonymousUser())
    assert set(selectors.environments_visible_to(actor=AnonymousUser())) == {environment, other_environment}
    assert selectors.access_for(actor=ApiKeyUser(key), environment=other_environment) == selectors.NO_ACCESS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("production", "production", id="by-name"),
        pytest.param("{pk}", "production", id="by-id"),
        pytest.param("nope", None, id="unknown-name"),
        pytest.param("999999", None, id="unknown-id"),
    ],
)
def test_an_environment_is_found_by_name_or_id(environment, value, expected):
    found = selectors.environment_by_name_or_id(value.format(pk=environment.pk))

    assert (found.name if found else None) == expected


@pytest.mark.parametrize(
    ("field", "length"),
    [pytest.param("name", 101, id="name"), pytest.param("description", 1001, id="description")],
)
def test_an_environment_name_or_description_over_the_limit_is_refused(environment, field, length):
    with pytest.raises(DomainError) as created:
        services.create_environment(**{"name": "fresh", field: "y" * length})
    with pytest.raises(DomainError) as edited:
        services.update_environment(environment=environment, **{field: "y" * length})

    assert (created.value.code, created.value.field) == ("max_length", field)
    assert (edited.value.code, edited.value.field) == ("max_length", field)
    environment.refresh_from_db()
    assert environment.name == "production"
    assert not Environment.objects.filter(name="fresh").exists()


def test_adding_a_member_to_an_environment_deleted_meanwhile_is_not_found(environment, outsider):
    stale = Environment.objects.get(pk=environment.pk)
    services.delete_environment(environment=environment)

    with pytest.raises(DomainError) as refused:
        services.add_member(environment=stale, username=outsider.username, role=Role.MEMBER)

    assert refused.value.code == "not_found"

"""Provider groups mapped to environment roles: the mappings, the recomputation at sign-in, the Members tab."""

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from common.actor import Actor
from common.audit.models import AuditAction, AuditEvent
from common.errors import DomainError
from environments import services
from environments.models import GroupMapping, Membership, Role

pytestmark = pytest.mark.django_db


def role_in(environment, user) -> tuple[str, str, str, list] | None:
    membership = Membership.objects.filter(environment=environment, user=user).first()
    if membership is None:
        return None
    return membership.role, membership.direct_role, membership.group_role, membership.groups


@pytest.fixture
def ops(environment, owner):
    return services.add_group_mapping(
        environment=environment, group="ops", role=Role.MEMBER, actor=Actor(principal=owner)
    )


# --- Services ---------------------------------------------------------------------------------


def test_a_group_mapping_is_recorded_in_the_audit_log(environment, owner, ops):
    event = AuditEvent.objects.get(action=AuditAction.MAPPING_ADDED)
    assert (event.environment, event.target, event.actor_user, event.changes) == (
        environment,
        "ops",
        owner,
        {"role": [None, "member"]},
    )


@pytest.mark.parametrize(
    ("group", "role", "code"),
    [
        pytest.param("", Role.MEMBER, "required", id="empty-group"),
        pytest.param("   ", Role.MEMBER, "required", id="blank-group"),
        pytest.param("ops", "admin", "invalid", id="unknown-role"),
        pytest.param("x" * 256, Role.MEMBER, "max_length", id="too-long"),
    ],
)
def test_a_bad_group_mapping_is_refused(environment, group, role, code):
    with pytest.raises(DomainError) as refused:
        services.add_group_mapping(environment=environment, group=group, role=role)
    assert refused.value.code == code
    assert not GroupMapping.objects.exists()


def test_a_group_is_mapped_once_per_environment(environment, ops):
    with pytest.raises(DomainError) as refused:
        services.add_group_mapping(environment=environment, group="ops", role=Role.OWNER)
    assert refused.value.code == "already_mapped"


@pytest.mark.parametrize("spelling", ["OPS", "Ops", " ops "])
def test_a_group_is_one_group_whatever_its_case(environment, ops, spelling):
    # Sign-in matches group names without regard to case, so a second spelling is the same group.
    with pytest.raises(DomainError) as refused:
        services.add_group_mapping(environment=environment, group=spelling, role=Role.OWNER)
    assert refused.value.code == "already_mapped"
    assert list(GroupMapping.objects.values_list("group", flat=True)) == ["ops"]


def test_the_database_keeps_one_mapping_per_group_whatever_its_case(environment, ops):
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMapping.objects.create(environment=environment, group="OPS", role=Role.OWNER)


def test_the_longest_group_name_is_mapped_and_audited_whole(environment, owner):
    # 255 characters: longer than a username, the audit event's target holds it (PostgreSQL checks).
    group = ("cn=payments-platform-engineering," * 8)[:255]

    services.add_group_mapping(environment=environment, group=group, role=Role.MEMBER, actor=Actor(principal=owner))

    assert AuditEvent.objects.get(action=AuditAction.MAPPING_ADDED).target == group


def test_removing_a_member_only_through_groups_is_refused_saying_why(environment, outsider, ops, owner):
    services.sync_group_roles(user=outsider, groups=["ops"])
    membership = Membership.objects.get(environment=environment, user=outsider)

    with pytest.raises(DomainError) as refused:
        services.remove_member(membership=membership, actor=Actor(principal=owner))

    assert refused.value.code == "no_direct_role"
    assert "provider groups (ops)" in refused.value.message
    assert role_in(environment, outsider) == (Role.MEMBER, "", Role.MEMBER, ["ops"])
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_REMOVED).exists()


def test_signing_in_with_a_mapped_group_gives_its_role_and_leaving_it_takes_it_away(environment, outsider, ops):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["OPS", "other"], address="10.0.0.1")
    assert role_in(environment, outsider) == (Role.MEMBER, "", Role.MEMBER, ["ops"])

    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["other"])
    assert role_in(environment, outsider) is None

    events = list(AuditEvent.objects.filter(action=AuditAction.GROUP_ROLE_CHANGED).order_by("id"))
    assert [event.changes["role"] for event in events] == [[None, "member"], ["member", None]]
    assert events[0].address == "10.0.0.1"
    assert AuditEvent.objects.filter(action=AuditAction.PROVIDER_SIGNIN, environment=None).count() == 2


def test_the_highest_mapped_role_wins_and_every_group_that_gives_it_is_named(environment, outsider, ops):
    services.add_group_mapping(environment=environment, group="admins", role=Role.OWNER)
    services.add_group_mapping(environment=environment, group="auditors", role=Role.READ_ONLY)

    services.sign_in_from_provider(user=outsider, provider="oidc", groups=["ops", "admins", "auditors"])

    assert role_in(environment, outsider) == (Role.OWNER, "", Role.OWNER, ["admins", "auditors", "ops"])


def test_a_direct_role_survives_the_group_role_going(environment, member, ops):
    services.sign_in_from_provider(user=member, provider="ldap", groups=[])
    assert role_in(environment, member) == (Role.MEMBER, Role.MEMBER, "", [])

    services.add_group_mapping(environment=environment, group="admins", role=Role.OWNER)
    services.sign_in_from_provider(user=member, provider="ldap", groups=["admins"])
    assert role_in(environment, member) == (Role.OWNER, Role.MEMBER, Role.OWNER, ["admins"])

    services.sign_in_from_provider(user=member, provider="ldap", groups=[])
    assert role_in(environment, member) == (Role.MEMBER, Role.MEMBER, "", [])


def test_removing_the_direct_role_keeps_the_role_from_groups(environment, outsider, ops, owner):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])
    membership = services.add_member(environment=environment, username=outsider.username, role=Role.OWNER)
    assert role_in(environment, outsider) == (Role.OWNER, Role.OWNER, Role.MEMBER, ["ops"])

    services.remove_member(membership=membership)

    assert role_in(environment, outsider) == (Role.MEMBER, "", Role.MEMBER, ["ops"])


def test_a_member_only_through_groups_can_be_given_a_direct_role(environment, outsider, ops):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])

    with pytest.raises(DomainError):
        services.add_member(environment=environment, username="nobody", role=Role.MEMBER)
    services.add_member(environment=environment, username=outsider.username, role=Role.READ_ONLY)
    with pytest.raises(DomainError) as again:
        services.add_member(environment=environment, username=outsider.username, role=Role.READ_ONLY)

    assert again.value.code == "already_member"
    assert role_in(environment, outsider) == (Role.MEMBER, Role.READ_ONLY, Role.MEMBER, ["ops"])


def test_removing_a_mapping_takes_the_role_away_at_the_next_sign_in(environment, outsider, ops):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])
    services.remove_group_mapping(mapping=ops)
    assert role_in(environment, outsider) is not None

    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])

    assert role_in(environment, outsider) is None
    assert AuditEvent.objects.filter(action=AuditAction.MAPPING_REMOVED, target="ops").exists()


def test_a_sign_in_that_changes_nothing_records_no_role_change(environment, outsider, ops):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])
    assert AuditEvent.objects.filter(action=AuditAction.GROUP_ROLE_CHANGED).count() == 1


def test_the_session_lifetime_is_bounded():
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


# --- API ----------------------------------------------------------------------------------------


def test_an_owner_adds_lists_and_removes_mappings_through_the_api(api_client_for, owner, environment):
    client = api_client_for(owner)
    url = f"/api/v1/environments/{environment.pk}/groups/"

    created = client.post(url, {"group": "ops", "role": "read-only"}, format="json")
    listed = client.get(url)
    removed = client.delete(f"{url}{created.json()['id']}/")

    assert created.status_code == 201
    assert created.json()["group"] == "ops" and created.json()["type"] == "group-mapping"
    assert [row["group"] for row in listed.json()["results"]] == ["ops"]
    assert removed.status_code == 204
    assert not GroupMapping.objects.exists()


@pytest.mark.parametrize("who", ["member", "reader"])
def test_only_owners_change_mappings(request, api_client_for, environment, who):
    client = api_client_for(request.getfixturevalue(who))
    response = client.post(f"/api/v1/environments/{environment.pk}/groups/", {"group": "ops", "role": "owner"})
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the environment's owners manage its members and group mappings."
    assert not GroupMapping.objects.exists()


def test_removing_a_member_only_through_groups_is_a_409_in_the_api(api_client_for, owner, outsider, environment, ops):
    services.sync_group_roles(user=outsider, groups=["ops"])
    membership = Membership.objects.get(environment=environment, user=outsider)

    response = api_client_for(owner).delete(f"/api/v1/environments/{environment.pk}/members/{membership.pk}/")

    assert (response.status_code, response.json()["code"]) == (409, "no_direct_role")
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_members_tab_says_why_a_mapping_was_refused(web_client_for, owner, environment):
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/members/groups/", {"group": "g" * 300, "role": "member"}, follow=True
    )

    assert "The group was not mapped. Group: Ensure this value has at most 255 characters" in response.content.decode()
    assert not GroupMapping.objects.exists()


def test_a_key_never_sees_mappings(key_client, environment, ops):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/groups/")
    assert response.status_code == 403


def test_a_duplicate_mapping_is_a_409_in_the_api(api_client_for, owner, environment, ops):
    response = api_client_for(owner).post(
        f"/api/v1/environments/{environment.pk}/groups/", {"group": "ops", "role": "owner"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "already_mapped"


def test_the_member_api_says_where_each_role_comes_from(api_client_for, owner, outsider, environment, ops):
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])
    rows = api_client_for(owner).get(f"/api/v1/environments/{environment.pk}/members/").json()["results"]
    by_name = {row["username"]: row for row in rows}
    assert {key: by_name[outsider.username][key] for key in ("role", "direct_role", "group_role", "groups")} == {
        "role": "member",
        "direct_role": None,
        "group_role": "member",
        "groups": ["ops"],
    }
    assert by_name[owner.username]["direct_role"] == "owner" and by_name[owner.username]["group_role"] is None


# --- Members tab --------------------------------------------------------------------------------


def test_the_members_tab_maps_a_group_and_shows_where_roles_come_from(web_client_for, owner, outsider, environment):
    client = web_client_for(owner)
    response = client.post(
        f"/environments/{environment.pk}/members/groups/", {"group": "ops", "role": "member"}, follow=True
    )
    assert response.status_code == 200
    mapping = GroupMapping.objects.get()
    services.sign_in_from_provider(user=outsider, provider="ldap", groups=["ops"])

    html = client.get(f"/environments/{environment.pk}/members/").content.decode()

    assert f'<tr id="group-{mapping.pk}">' in html
    assert "From groups (ops): Member" in html
    assert "Direct: Owner" in html

    client.post(f"/environments/{environment.pk}/members/groups/{mapping.pk}/remove/")
    assert not GroupMapping.objects.exists()


def test_a_member_cannot_map_groups_on_the_members_tab(web_client_for, member, environment):
    response = web_client_for(member).post(
        f"/environments/{environment.pk}/members/groups/", {"group": "ops", "role": "owner"}
    )
    assert response.status_code in (403, 404)
    assert not GroupMapping.objects.exists()

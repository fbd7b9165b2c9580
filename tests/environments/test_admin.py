"""The Django admin for environments and memberships: changes go through the services."""

import pytest
from django.contrib.messages import get_messages

from common.audit.models import AuditAction, AuditEvent
from environments import services
from environments.models import Environment, GroupMapping, Membership, Role

pytestmark = pytest.mark.django_db

ENVIRONMENTS = "/admin/environments/environment/"
MEMBERSHIPS = "/admin/environments/membership/"


def membership_of(environment, user) -> Membership:
    return Membership.objects.get(environment=environment, user=user)


def _environment_form(environment=None, **fields) -> dict:
    """Return the POST data of the environment form, with its read-only members inline."""
    memberships = list(environment.memberships.all()) if environment else []
    data = {
        "memberships-TOTAL_FORMS": len(memberships),
        "memberships-INITIAL_FORMS": len(memberships),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
        **fields,
    }
    for number, membership in enumerate(memberships):
        data[f"memberships-{number}-id"] = membership.pk
        data[f"memberships-{number}-environment"] = environment.pk
    return data


def test_adding_an_environment_makes_the_admin_its_owner(admin_client, admin_user):
    response = admin_client.post(f"{ENVIRONMENTS}add/", _environment_form(name="qa", description="Testing"))

    assert response.status_code == 302
    environment = Environment.objects.get(name="qa")
    assert membership_of(environment, admin_user).role == Role.OWNER


def test_a_taken_environment_name_is_a_form_error(admin_client, environment):
    response = admin_client.post(f"{ENVIRONMENTS}add/", _environment_form(name="production"))

    assert response.status_code == 200
    assert b"Environment with this Name already exists." in response.content
    assert Environment.objects.count() == 1


def test_editing_an_environment_changes_it(admin_client, environment):
    response = admin_client.post(
        f"{ENVIRONMENTS}{environment.pk}/change/", _environment_form(environment, name="prod", description="renamed")
    )

    assert response.status_code == 302
    environment.refresh_from_db()
    assert (environment.name, environment.description) == ("prod", "renamed")


def test_deleting_an_environment_deletes_its_owners_and_active_keys_too(admin_client, environment, make_key):
    make_key(environment)

    assert admin_client.get(f"{ENVIRONMENTS}{environment.pk}/delete/").status_code == 200
    response = admin_client.post(f"{ENVIRONMENTS}{environment.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Environment.objects.exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("?role__exact=owner", {"olivia", "oscar"}, id="owners"),
        pytest.param("?role__exact=read-only", {"rita"}, id="read-only"),
        pytest.param("?environment__id__exact={staging}", {"oscar"}, id="environment"),
    ],
)
def test_the_membership_list_filters_by_role_and_environment(
    admin_client, environment, other_environment, query, expected
):
    response = admin_client.get(MEMBERSHIPS + query.format(staging=other_environment.pk))

    assert response.status_code == 200
    names = {name for name in ("olivia", "marco", "rita", "oscar") if f">{name}<".encode() in response.content}
    assert names == expected


def test_adding_a_member(admin_client, environment, outsider):
    response = admin_client.post(
        f"{MEMBERSHIPS}add/", {"environment": environment.pk, "user": outsider.pk, "role": "member"}
    )

    assert response.status_code == 302
    assert membership_of(environment, outsider).role == Role.MEMBER


def test_demoting_the_last_owner_is_a_form_error(admin_client, environment, owner):
    membership = membership_of(environment, owner)

    response = admin_client.post(f"{MEMBERSHIPS}{membership.pk}/change/", {"role": "member"})

    assert response.status_code == 200
    assert b"An environment must keep at least one owner." in response.content
    assert membership_of(environment, owner).role == Role.OWNER


def test_re_roling_a_member(admin_client, environment, member):
    membership = membership_of(environment, member)

    response = admin_client.post(f"{MEMBERSHIPS}{membership.pk}/change/", {"role": "read-only"})

    assert response.status_code == 302
    assert membership_of(environment, member).role == Role.READ_ONLY


def test_the_last_owner_cannot_be_deleted_from_its_page(admin_client, environment, owner):
    membership = membership_of(environment, owner)

    assert admin_client.post(f"{MEMBERSHIPS}{membership.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_remove_action_keeps_the_last_owner_and_says_why(admin_client, environment, owner, reader):
    selected = [membership_of(environment, owner).pk, membership_of(environment, reader).pk]

    response = admin_client.post(MEMBERSHIPS, {"action": "remove_members", "_selected_action": selected}, follow=True)

    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert "olivia: An environment must keep at least one owner." in messages
    assert membership_of(environment, owner).role == Role.OWNER
    assert not environment.memberships.filter(user=reader).exists()


def test_group_mappings_are_added_and_removed_in_the_admin_through_the_audited_services(admin_client, admin_user):
    environment = Environment.objects.create(name="production")
    form = {"environment": environment.pk, "group": "platform", "role": Role.MEMBER}

    assert admin_client.post("/admin/environments/groupmapping/add/", form).status_code == 302
    mapping = GroupMapping.objects.get()
    # Another spelling of the same group is refused next to the field, not with a server error.
    again = admin_client.post("/admin/environments/groupmapping/add/", {**form, "group": "Platform"})
    assert again.status_code == 200 and "already mapped in production" in again.content.decode()
    # A mapping is never edited; it is removed through the service.
    assert admin_client.get(f"/admin/environments/groupmapping/{mapping.pk}/change/").status_code == 200
    assert (
        admin_client.post(f"/admin/environments/groupmapping/{mapping.pk}/delete/", {"post": "yes"}).status_code == 302
    )

    assert not GroupMapping.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__startswith="member.mapping")
        .order_by("id")
        .values_list("action", "actor_user")
    ) == [
        (AuditAction.MAPPING_ADDED, admin_user.pk),
        (AuditAction.MAPPING_REMOVED, admin_user.pk),
    ]


def test_a_member_only_through_groups_has_no_delete_in_the_admin(admin_client, owner, outsider):
    environment = services.create_environment(name="production", owner=owner)
    services.add_group_mapping(environment=environment, group="ops", role=Role.MEMBER)
    services.sync_group_roles(user=outsider, groups=["ops"])
    membership = membership_of(environment, outsider)

    assert admin_client.get(f"/admin/environments/membership/{membership.pk}/delete/").status_code == 403

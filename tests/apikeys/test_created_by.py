"""Who created a key: recorded from every entry point, shown in the API, the dashboard and the admin."""

import base64
import io
import re

import pytest
from django.core.management import CommandError, call_command

from apikeys import services
from apikeys.models import ApiKey
from common.actor import Actor

pytestmark = pytest.mark.django_db


def basic(key, secret) -> str:
    return "Basic " + base64.b64encode(f"{key.access_key}:{secret}".encode()).decode()


def test_the_create_service_records_the_signed_in_user_as_the_creator(environment, owner):
    key, _ = services.create_api_key(environment=environment, actor=Actor(principal=owner))
    key.refresh_from_db()
    assert key.created_by == owner


def test_a_key_created_by_the_system_has_no_creator(environment):
    key, _ = services.create_api_key(environment=environment)
    key.refresh_from_db()
    assert key.created_by is None


def test_a_key_created_with_an_api_key_has_no_creator_and_its_audit_event_names_the_key(key_client, key_pair):
    response = key_client.post(f"/api/v1/environments/{key_pair[0].environment_id}/apikeys/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["created_by"] is None
    created = ApiKey.objects.get(pk=response.json()["id"])
    assert created.created_by is None
    event = created.environment.audit_events.filter(target=created.access_key).get()
    assert event.actor_name == key_pair[0].access_key


def test_the_api_shows_and_filters_by_the_creator(api_client_for, owner, member, environment):
    mine, _ = services.create_api_key(environment=environment, name="mine", actor=Actor(principal=owner))
    theirs, _ = services.create_api_key(environment=environment, name="theirs", actor=Actor(principal=member))
    client = api_client_for(owner)
    url = f"/api/v1/environments/{environment.pk}/apikeys/"

    created = client.post(url, {"name": "new"}, format="json")
    everything = client.get(url).json()["results"]
    only_member = client.get(url, {"created_by": member.username}).json()["results"]

    assert created.status_code == 201
    assert created.json()["created_by"] == owner.username
    assert {row["name"]: row["created_by"] for row in everything} == {
        "new": owner.username,
        "mine": owner.username,
        "theirs": member.username,
    }
    assert [row["id"] for row in only_member] == [theirs.pk]
    assert mine.pk not in [row["id"] for row in only_member]


def test_the_creator_cannot_be_changed_through_the_api(api_client_for, owner, member, environment):
    key, _ = services.create_api_key(environment=environment, actor=Actor(principal=member))
    response = api_client_for(owner).patch(
        f"/api/v1/environments/{environment.pk}/apikeys/{key.pk}/", {"created_by": owner.username}, format="json"
    )
    assert response.status_code == 400
    key.refresh_from_db()
    assert key.created_by == member


def test_the_dashboard_key_list_shows_and_filters_by_the_creator(web_client_for, owner, member, environment):
    services.create_api_key(environment=environment, name="by-owner", actor=Actor(principal=owner))
    services.create_api_key(environment=environment, name="by-member", actor=Actor(principal=member))
    client = web_client_for(owner)

    html = client.get(f"/environments/{environment.pk}/api/").content.decode()
    filtered = client.get(f"/environments/{environment.pk}/api/", {"created_by": member.username}).content.decode()

    creators = re.findall(r'<div class="key-created-by">by <span title="([^"]*)">', html)
    assert sorted(creators) == sorted([owner.username, member.username])
    assert 'aria-label="Filter keys by who created them"' in html
    assert "by-member" in filtered and "by-owner" not in filtered


def test_the_dashboard_records_who_added_a_key(web_client_for, member, environment):
    client = web_client_for(member)
    form = client.get(f"/environments/{environment.pk}/api/keys/add/").content.decode()
    form_id = re.search(r'name="form_id" value="([^"]+)"', form).group(1)
    response = client.post(
        f"/environments/{environment.pk}/api/keys/add/",
        {"name": "web", "description": "", "permission": "read-write", "expires": "never", "form_id": form_id},
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(name="web").created_by == member


def test_the_admin_records_and_lists_the_creator(admin_client, superuser, environment):
    response = admin_client.post(
        "/admin/apikeys/apikey/add/",
        {"environment": environment.pk, "name": "from-admin", "description": "", "permission": "read-write"},
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="from-admin")
    assert key.created_by.username == "admin"
    changelist = admin_client.get("/admin/apikeys/apikey/", {"created_by__id__exact": key.created_by_id})
    assert "from-admin" in changelist.content.decode()
    assert "column-created_by" in changelist.content.decode()


def test_createapikey_records_the_named_user_as_the_creator(environment, member):
    call_command(
        "createapikey",
        "--environment",
        environment.name,
        "--created-by",
        member.username,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert ApiKey.objects.get(environment=environment).created_by == member


def test_createapikey_refuses_an_unknown_creator(environment):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("createapikey", "--environment", environment.name, "--created-by", "ghost", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_a_deactivated_creator_leaves_the_key_working(api_client, owner, environment):
    key, secret = services.create_api_key(environment=environment, actor=Actor(principal=owner))
    owner.is_active = False
    owner.save()

    response = api_client.get(f"/api/v1/environments/{environment.pk}/", HTTP_AUTHORIZATION=basic(key, secret))

    assert response.status_code == 200


def test_deleting_the_creator_keeps_the_key_with_no_creator(api_client, owner, environment):
    key, secret = services.create_api_key(environment=environment, actor=Actor(principal=owner))
    owner.memberships.all().delete()
    owner.delete()
    key.refresh_from_db()

    response = api_client.get(f"/api/v1/environments/{environment.pk}/", HTTP_AUTHORIZATION=basic(key, secret))

    assert key.created_by is None
    assert response.status_code == 200

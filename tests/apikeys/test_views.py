"""Dashboard pages for an environment's API keys: the API page, add (secret shown once), edit, lifecycle."""

import datetime
import html
import logging
import re

import pytest
from django.utils import timezone

from apikeys import crypto, services
from apikeys.models import REFUSALS, Action, ApiKey, Permission, State
from common import counters
from common.access import ACCESS_CONTROL_OFF
from common.errors import DomainError

pytestmark = pytest.mark.django_db


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def key_row(html: str, key) -> str:
    """Return the HTML of the key's row in the keys table."""
    match = re.search(rf'<tr class="key-row[^"]*" id="key-{key.pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row for key {key.pk}"
    return match.group(1)


def row_actions(html: str, key) -> set[str]:
    """Return the names of the actions offered in the key's dropdown."""
    return set(re.findall(r'class="menu-item[^"]*"[^>]*>([^<]+)<', key_row(html, key)))


def open_add_form(client, environment) -> str:
    """GET the add-key form and return the one-time form id it carries."""
    response = client.get(f"/environments/{environment.pk}/api/keys/add/")
    assert response.status_code == 200
    return re.search(r'name="form_id" value="([^"]+)"', response.content.decode()).group(1)


def create_key(client, environment, **data):
    form_id = open_add_form(client, environment)
    payload = {"name": "", "description": "", "permission": "read-write", "expires": "never", "form_id": form_id}
    return client.post(f"/environments/{environment.pk}/api/keys/add/", {**payload, **data})


def shown_value(html: str, element_id: str) -> str:
    return re.search(rf'<output id="{element_id}"[^>]*>([^<]*)</output>', html).group(1)


# --- The API page ---------------------------------------------------------------------------


def test_api_page_shows_the_absolute_endpoint_and_filled_in_examples(web_client_for, owner, environment):
    response = web_client_for(owner).get(f"/environments/{environment.pk}/api/")
    assert response.status_code == 200
    html = response.content.decode()
    endpoint = f"http://testserver/api/v1/environments/{environment.pk}/"
    assert shown_value(html, "endpoint") == endpoint
    assert f"curl -u ACCESS_KEY:SECRET_KEY {endpoint}" in html
    assert "machine testserver login ACCESS_KEY password SECRET_KEY" in html
    assert f"curl --netrc {endpoint}" in html
    assert '<h1 class="env-name">production</h1>' in html


def test_api_page_lists_the_keys_with_their_state_and_never_used(web_client_for, owner, environment, make_key):
    active, _ = make_key(environment, name="deploy", description="CI deploys", permission=Permission.READ_ONLY)
    inactive, _ = make_key(environment, name="old")
    services.deactivate_api_key(key=inactive)
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    active_row, inactive_row = key_row(html, active), key_row(html, inactive)
    assert '<span class="badge badge-active">Active</span>' in active_row
    assert "deploy" in active_row and "CI deploys" in active_row and "Read-only" in active_row
    assert f'<code class="access-key">{active.access_key}</code>' in active_row
    assert '<td data-label="Last used" class="key-last-used nowrap">Never</td>' in active_row
    assert '<td data-label="Expires" class="key-expires">Never</td>' in active_row
    assert '<span class="badge badge-inactive">Inactive</span>' in inactive_row
    assert f'id="key-{inactive.pk}"' in html and 'class="key-row key-inactive"' in html


def test_expired_key_is_marked_expired(web_client_for, owner, environment, make_key, monkeypatch):
    now = timezone.now()
    key, _ = make_key(environment, expires_at=now + datetime.timedelta(hours=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=now - datetime.timedelta(hours=1))
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    assert '<span class="badge badge-expired">Expired</span>' in key_row(html, key)


def test_key_used_once_shows_when(web_client_for, owner, environment, key_pair):
    key, _ = key_pair
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC))
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    assert "2030-01-02 03:04" in key_row(html, key)


def test_empty_table_says_there_are_no_keys_yet(web_client_for, owner, environment):
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    assert "There are no API keys for this environment yet." in html
    assert "<table" not in html


@pytest.mark.parametrize(
    "state, shown",
    [
        pytest.param("", {"on", "off"}, id="all"),
        pytest.param("active", {"on"}, id="active"),
        pytest.param("inactive", {"off"}, id="inactive"),
        pytest.param("bogus", {"on", "off"}, id="unknown-state-shows-all"),
    ],
)
def test_keys_can_be_filtered_by_state(web_client_for, owner, environment, make_key, state, shown):
    make_key(environment, name="on")
    off, _ = make_key(environment, name="off")
    services.deactivate_api_key(key=off)
    response = web_client_for(owner).get(f"/environments/{environment.pk}/api/", {"state": state})
    assert {row["key"].name for row in response.context["rows"]} == shown


def test_filter_with_no_match_says_so(web_client_for, owner, environment, key_pair):
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/", {"state": "inactive"}).content.decode()
    assert "No inactive API keys in production." in html


@pytest.mark.parametrize(
    "who, state, actions",
    [
        pytest.param("owner", "active", {"Edit", "Deactivate…", "View in API"}, id="owner-active"),
        pytest.param("owner", "inactive", {"Edit", "Activate", "Delete…", "View in API"}, id="owner-inactive"),
        pytest.param("member", "active", {"Edit", "Deactivate…", "View in API"}, id="member-active"),
        pytest.param("member", "inactive", {"Edit", "Activate", "Delete…", "View in API"}, id="member-inactive"),
        pytest.param("reader", "active", {"View in API"}, id="read-only-active"),
        pytest.param("reader", "inactive", {"View in API"}, id="read-only-inactive"),
        pytest.param("superuser", "inactive", {"Edit", "Activate", "Delete…", "View in API"}, id="superuser"),
    ],
)
def test_each_key_offers_exactly_the_actions_that_apply(
    web_client_for, request, environment, key_pair, who, state, actions
):
    key, _ = key_pair
    if state == "inactive":
        services.deactivate_api_key(key=key)
    response = web_client_for(request.getfixturevalue(who)).get(f"/environments/{environment.pk}/api/")
    html = response.content.decode()
    assert row_actions(html, key) == actions
    api_url = f"http://testserver/api/v1/environments/{environment.pk}/apikeys/{key.pk}/"
    assert f'<a class="menu-item" href="{api_url}">View in API</a>' in key_row(html, key)
    assert ("Add Environment API Key" in html) is (who != "reader")


@pytest.mark.parametrize(
    "who, status",
    [
        pytest.param("owner", 200, id="owner"),
        pytest.param("member", 200, id="member"),
        pytest.param("reader", 200, id="read-only"),
        pytest.param("superuser", 200, id="superuser"),
        pytest.param("outsider", 404, id="outsider"),
    ],
)
def test_api_page_is_open_to_everyone_who_may_see_the_environment(web_client_for, request, environment, who, status):
    assert (
        web_client_for(request.getfixturevalue(who)).get(f"/environments/{environment.pk}/api/").status_code == status
    )


@pytest.mark.parametrize("who", ["owner", "outsider"])
def test_an_environments_own_address_opens_its_api_page_which_decides_who_may_see_it(
    web_client_for, request, environment, who
):
    client = web_client_for(request.getfixturevalue(who))

    response = client.get(f"/environments/{environment.pk}/", follow=True)

    assert response.redirect_chain == [(f"/environments/{environment.pk}/api/", 302)]
    assert response.status_code == (200 if who == "owner" else 404)


def test_api_page_needs_sign_in_when_access_control_is_on(web_client_for, environment):
    response = web_client_for().get(f"/environments/{environment.pk}/api/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/environments/{environment.pk}/api/"


def test_api_page_is_open_with_a_banner_when_access_control_is_off(web_client_for, environment, key_pair, settings):
    settings.ACCESS_CONTROL = False
    key, _ = key_pair
    response = web_client_for().get(f"/environments/{environment.pk}/api/")
    assert response.status_code == 200
    html = response.content.decode()
    assert ACCESS_CONTROL_OFF in html
    assert row_actions(html, key) == {"Edit", "Deactivate…", "View in API"}


# --- Adding a key: the secret is shown exactly once ----------------------------------------


def test_add_form_names_the_environment_and_has_labelled_fields(web_client_for, member, environment):
    html = web_client_for(member).get(f"/environments/{environment.pk}/api/keys/add/").content.decode()
    assert '<strong class="env-callout-name">production</strong>' in html
    for field in ("name", "description", "expires_on"):
        assert f'<label for="id_{field}">' in html
    assert "<legend>Permission</legend>" in html
    assert "<legend>Expires</legend>" in html


def test_creating_a_key_shows_the_pair_once_with_no_store(web_client_for, member, environment, caplog):
    client = web_client_for(member)
    with caplog.at_level(logging.DEBUG):
        response = create_key(client, environment, name="deploy", description="CI")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(environment=environment)
    html = response.content.decode()
    access_key, secret = shown_value(html, "access-key"), shown_value(html, "secret-key")
    assert access_key == key.access_key
    assert crypto.verify_secret(secret, key.secret_hash)
    assert (key.name, key.description, key.state, key.permission) == ("deploy", "CI", State.ACTIVE, "read-write")
    assert "<h1>API Key Created</h1>" in html
    endpoint = f"http://testserver/api/v1/environments/{environment.pk}/"
    assert f"curl -u {access_key}:{secret} {endpoint}" in html
    assert f"machine testserver login {access_key} password {secret}" in html
    assert "This is the only time it is shown" in html
    assert f'href="/environments/{environment.pk}/api/" data-close-secret>Close</a>' in html
    # Never in the session, a log, a message or any later page.
    assert secret not in str(dict(client.session.items()))
    assert secret not in caplog.text
    for url in (f"/environments/{environment.pk}/api/", f"/environments/{environment.pk}/api/keys/{key.pk}/edit/"):
        assert secret not in client.get(url).content.decode()


def test_sending_the_create_form_again_names_the_key_it_created_and_shows_no_secret(
    web_client_for, member, environment
):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    data = {"name": "deploy-bot", "permission": "read-write", "expires": "never", "form_id": form_id}
    first = client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    secret = shown_value(first.content.decode(), "secret-key")
    key = ApiKey.objects.get(environment=environment)
    again = client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    assert again.status_code == 409
    assert again["Cache-Control"] == "no-store"
    assert ApiKey.objects.filter(environment=environment).count() == 1
    html = again.content.decode()
    assert secret not in html
    assert '<dd class="key-name">deploy-bot</dd>' in html
    assert f'<code class="access-key">{key.access_key}</code>' in html
    assert "Its secret key can no longer be shown." in html
    assert f'action="/environments/{environment.pk}/api/keys/{key.pk}/deactivate/"' in html
    assert f">Deactivate {key.access_key}</button>" in html


def test_the_one_click_on_a_repeated_post_deactivates_the_key_and_leads_to_a_new_form(
    web_client_for, member, environment
):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    data = {"name": "deploy-bot", "permission": "read-write", "expires": "never", "form_id": form_id}
    client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    key = ApiKey.objects.get(environment=environment)
    html = client.post(f"/environments/{environment.pk}/api/keys/add/", data).content.decode()
    next_url = re.search(r'name="next" value="([^"]+)"', html).group(1)
    done = client.post(f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"next": next_url}, follow=True)
    key.refresh_from_db()
    assert key.state == State.INACTIVE
    assert done.redirect_chain == [(f"/environments/{environment.pk}/api/keys/add/", 302)]
    # Once inactive, the same repeated post offers no deactivation, only a new key.
    later = client.post(f"/environments/{environment.pk}/api/keys/add/", data).content.decode()
    assert "This key is already inactive." in later
    assert "/deactivate/" not in later


def test_a_repeated_post_for_a_key_deleted_since_creates_nothing_and_says_so(web_client_for, member, environment):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    data = {"name": "gone", "permission": "read-write", "expires": "never", "form_id": form_id}
    client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    ApiKey.objects.all().delete()
    again = client.post(f"/environments/{environment.pk}/api/keys/add/", data, follow=True)
    assert again.redirect_chain == [(f"/environments/{environment.pk}/api/", 302)]
    assert not ApiKey.objects.exists()
    assert "no new key was created" in page_messages(again)[0]


def test_a_used_form_id_of_another_session_reveals_nothing(web_client_for, member, owner, environment):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    data = {"name": "mine", "permission": "read-write", "expires": "never", "form_id": form_id}
    client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    other = web_client_for(owner).post(f"/environments/{environment.pk}/api/keys/add/", data)
    assert other.status_code == 302
    assert ApiKey.objects.count() == 1


def test_the_created_page_names_the_key_and_offers_the_netrc_line_a_download_and_a_close_prompt(
    web_client_for, member, environment
):
    response = create_key(web_client_for(member), environment, name="deploy-bot", description="Deploys <b>prod</b>")
    html = response.content.decode()
    assert '<dd class="key-name">deploy-bot</dd>' in html
    assert '<dd class="key-description">Deploys &lt;b&gt;prod&lt;/b&gt;</dd>' in html
    key = ApiKey.objects.get()
    # The download button carries no secret: the browser builds the file from the page's text.
    button = re.search(r"<button[^>]*data-download-key[^>]*>", html).group(0)
    assert f'data-filename="envkeys-{key.access_key}.txt"' in button
    assert shown_value(html, "secret-key") not in button
    assert 'id="netrc-line"' in html
    assert '<h2 id="unsaved-title">Have you saved the secret key?</h2>' in html


def test_a_post_of_a_form_another_request_is_creating_with_creates_nothing(web_client_for, member, environment):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    # Another post of the same form is being answered right now: it has claimed the form.
    counters.increment(f"apikeys:add-form:{form_id}", timeout=60)
    data = {"name": "twice", "permission": "read-write", "expires": "never", "form_id": form_id}
    response = client.post(f"/environments/{environment.pk}/api/keys/add/", data, follow=True)
    assert not ApiKey.objects.exists()
    assert "no new key was created" in page_messages(response)[0]


def test_a_refused_create_leaves_the_form_usable(web_client_for, member, environment, monkeypatch):
    client = web_client_for(member)
    form_id = open_add_form(client, environment)
    data = {"name": "ok", "permission": "read-write", "expires": "never", "form_id": form_id}

    def refuse(**kwargs):
        raise DomainError("This environment no longer exists.", code="not_found")

    monkeypatch.setattr(services, "create_api_key", refuse)
    refused = client.post(f"/environments/{environment.pk}/api/keys/add/", data)
    assert "This environment no longer exists." in refused.content.decode()
    monkeypatch.undo()
    assert client.post(f"/environments/{environment.pk}/api/keys/add/", data).status_code == 200
    assert ApiKey.objects.get().name == "ok"


def test_a_made_up_form_id_creates_nothing(web_client_for, member, environment):
    client = web_client_for(member)
    response = client.post(
        f"/environments/{environment.pk}/api/keys/add/",
        {"name": "x", "permission": "read-write", "expires": "never", "form_id": "made-up"},
    )
    assert response.status_code == 302
    assert not ApiKey.objects.exists()


def test_a_read_only_key_with_an_expiry_date(web_client_for, member, environment, monkeypatch):
    response = create_key(
        web_client_for(member), environment, permission="read-only", expires="date", expires_on="2999-12-31"
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(environment=environment)
    assert key.permission == Permission.READ_ONLY
    assert key.expires_at == datetime.datetime(2999, 12, 31, tzinfo=datetime.UTC)


def test_the_add_form_offers_expiry_presets_with_30_days_preselected(web_client_for, member, environment, clock):
    html = web_client_for(member).get(f"/environments/{environment.pk}/api/keys/add/").content.decode()
    choices = re.findall(r'<input type="radio" name="expires" value="([^"]+)"[^>]*?( checked)?>', html)
    assert choices == [("7", ""), ("30", " checked"), ("90", ""), ("date", ""), ("never", "")]
    in_30_days = timezone.localdate() + datetime.timedelta(days=30)
    assert f"30 days ({in_30_days:%b} {in_30_days.day}, {in_30_days.year})" in html
    assert '<strong class="env-callout-name">production</strong>' in html


@pytest.mark.parametrize("days", [7, 30, 90])
def test_an_expiry_preset_expires_the_key_that_many_days_from_now(web_client_for, member, environment, clock, days):
    assert create_key(web_client_for(member), environment, expires=str(days)).status_code == 200
    assert ApiKey.objects.get(environment=environment).expires_at == clock.now + datetime.timedelta(days=days)


def test_a_preset_ignores_the_expiry_date_field(web_client_for, member, environment, clock):
    assert create_key(web_client_for(member), environment, expires="7", expires_on="2001-01-01").status_code == 200
    assert ApiKey.objects.get(environment=environment).expires_at == clock.now + datetime.timedelta(days=7)


def test_a_form_sent_without_an_expiry_choice_is_refused(web_client_for, member, environment):
    response = create_key(web_client_for(member), environment, expires="")
    assert "This field is required." in response.context["form"].errors["expires"]
    assert not ApiKey.objects.exists()


def test_an_expiry_date_is_ignored_for_a_key_that_never_expires(web_client_for, member, environment):
    assert create_key(web_client_for(member), environment, expires="never", expires_on="2999-12-31").status_code == 200
    assert ApiKey.objects.get(environment=environment).expires_at is None


@pytest.mark.parametrize(
    "data, field, message",
    [
        pytest.param({"expires": "date"}, "expires_on", "Choose the date", id="date-missing"),
        pytest.param({"expires": "date", "expires_on": "2001-01-01"}, "expires_on", "must be in the future", id="past"),
        pytest.param({"expires": "date", "expires_on": "31/12/2999"}, "expires_on", "valid date", id="bad-date"),
        pytest.param({"permission": "admin"}, "permission", "Select a valid choice", id="unknown-permission"),
        pytest.param({"expires": "365"}, "expires", "Select a valid choice", id="unknown-preset"),
        pytest.param({"name": "n" * 101}, "name", "at most 100 characters", id="long-name"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_creates_nothing(
    web_client_for, member, environment, data, field, message
):
    client = web_client_for(member)
    response = create_key(client, environment, **data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not ApiKey.objects.exists()
    # The same form can be corrected and sent again.
    form_id = response.context["form_id"]
    fixed = client.post(
        f"/environments/{environment.pk}/api/keys/add/",
        {"name": "ok", "permission": "read-write", "expires": "never", "form_id": form_id},
    )
    assert fixed.status_code == 200
    assert ApiKey.objects.count() == 1


@pytest.mark.parametrize(
    "who, status", [pytest.param("reader", 403, id="read-only"), pytest.param("outsider", 404, id="outsider")]
)
def test_only_key_managers_add_keys(web_client_for, request, environment, who, status):
    client = web_client_for(request.getfixturevalue(who))
    assert client.get(f"/environments/{environment.pk}/api/keys/add/").status_code == status
    response = client.post(
        f"/environments/{environment.pk}/api/keys/add/", {"permission": "read-write", "expires": "never"}
    )
    assert response.status_code == status
    assert not ApiKey.objects.exists()


def test_anyone_may_add_a_key_when_access_control_is_off(web_client_for, environment, settings):
    settings.ACCESS_CONTROL = False
    response = create_key(web_client_for(), environment, name="open")
    assert response.status_code == 200
    assert ACCESS_CONTROL_OFF in response.content.decode()
    assert ApiKey.objects.get().name == "open"


# --- Edit, deactivate, activate, delete -----------------------------------------------------


def test_editing_changes_name_and_description_only(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    client = web_client_for(member)
    page = client.get(f"/environments/{environment.pk}/api/keys/{key.pk}/edit/").content.decode()
    assert f'<code class="access-key" id="access-key">{key.access_key}</code>' in page
    response = client.post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/edit/",
        {"name": "renamed", "description": "new", "permission": "read-only", "access_key": "EKHACKED"},
        follow=True,
    )
    before = key.access_key
    key.refresh_from_db()
    assert (key.name, key.description, key.permission, key.access_key) == ("renamed", "new", "read-write", before)
    assert page_messages(response) == [f"API key “renamed” ({key.access_key}) saved."]


def test_deactivating_and_activating_a_key(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    client = web_client_for(member)
    url = f"/environments/{environment.pk}/api/keys/{key.pk}/"
    response = client.post(url + "deactivate/", follow=True)
    key.refresh_from_db()
    assert key.state == State.INACTIVE
    assert response.redirect_chain == [(f"/environments/{environment.pk}/api/", 302)]
    assert page_messages(response) == [f"API key “deploy” ({key.access_key}) deactivated: it can no longer be used."]
    response = client.post(url + "activate/", follow=True)
    key.refresh_from_db()
    assert key.state == State.ACTIVE
    assert page_messages(response) == [f"API key “deploy” ({key.access_key}) activated: it can be used again."]


def test_an_action_that_no_longer_applies_is_refused_with_a_message(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    response = web_client_for(member).post(f"/environments/{environment.pk}/api/keys/{key.pk}/activate/", follow=True)
    key.refresh_from_db()
    assert key.state == State.ACTIVE
    assert page_messages(response) == ["This API key is already active."]


def test_lifecycle_actions_return_to_the_filtered_list(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    next_url = f"/environments/{environment.pk}/api/?state=active"
    response = web_client_for(member).post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"next": next_url}
    )
    assert response["Location"] == next_url
    elsewhere = web_client_for(member).post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/activate/", {"next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == f"/environments/{environment.pk}/api/"


def test_activating_needs_a_post(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)
    assert web_client_for(member).get(f"/environments/{environment.pk}/api/keys/{key.pk}/activate/").status_code == 405
    key.refresh_from_db()
    assert key.state == State.INACTIVE


def test_deleting_an_active_key_is_refused(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    client = web_client_for(member)
    url = f"/environments/{environment.pk}/api/keys/{key.pk}/delete/"
    confirm = client.get(url, follow=True)
    assert confirm.redirect_chain == [(f"/environments/{environment.pk}/api/", 302)]
    assert page_messages(confirm) == [REFUSALS[Action.DELETE]]
    response = client.post(url, follow=True)
    assert ApiKey.objects.filter(pk=key.pk).exists()
    assert page_messages(response) == [REFUSALS[Action.DELETE]]


def test_deleting_an_inactive_key_asks_first(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    services.deactivate_api_key(key=key)
    client = web_client_for(member)
    url = f"/environments/{environment.pk}/api/keys/{key.pk}/delete/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert f'<code class="access-key">{key.access_key}</code>' in confirm.content.decode()
    assert ApiKey.objects.filter(pk=key.pk).exists()
    response = client.post(url, follow=True)
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert page_messages(response) == [f"API key “deploy” ({key.access_key}) deleted."]


@pytest.mark.parametrize(
    "who, status", [pytest.param("reader", 403, id="read-only"), pytest.param("outsider", 404, id="outsider")]
)
@pytest.mark.parametrize("action", ["edit", "deactivate", "activate", "delete"])
def test_only_key_managers_change_keys(web_client_for, request, environment, key_pair, who, status, action):
    key, _ = key_pair
    response = web_client_for(request.getfixturevalue(who)).post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/{action}/", {"name": "hijacked"}
    )
    assert response.status_code == status
    key.refresh_from_db()
    assert (key.name, key.state) == ("deploy", State.ACTIVE)


def test_a_key_of_another_environment_is_not_found(web_client_for, owner, environment, other_environment, make_key):
    foreign, _ = make_key(other_environment)
    for action in ("edit", "deactivate", "delete"):
        response = web_client_for(owner).post(f"/environments/{environment.pk}/api/keys/{foreign.pk}/{action}/")
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.state == State.ACTIVE


def test_key_posts_without_a_csrf_token_are_refused(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    client = web_client_for(member, enforce_csrf_checks=True)
    form_id = open_add_form(client, environment)
    base = f"/environments/{environment.pk}/api/keys/"
    for url, data in [
        (base + "add/", {"permission": "read-write", "expires": "never", "form_id": form_id}),
        (f"{base}{key.pk}/edit/", {"name": "sneaky"}),
        (f"{base}{key.pk}/deactivate/", {}),
        (f"{base}{key.pk}/delete/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    key.refresh_from_db()
    assert (key.name, key.state) == ("deploy", State.ACTIVE)
    assert ApiKey.objects.count() == 1


def test_key_posts_with_the_csrf_token_are_accepted(web_client_for, member, environment, key_pair):
    key, _ = key_pair
    client = web_client_for(member, enforce_csrf_checks=True)
    page = client.get(f"/environments/{environment.pk}/api/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/environments/{environment.pk}/api/keys/{key.pk}/deactivate/", {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.state == State.INACTIVE


def test_the_api_page_shows_the_proxy_configurations_filled_in_with_the_authorize_url(
    web_client_for, member, environment
):
    authorize_url = f"http://testserver/api/v1/environments/{environment.pk}/authorize/"

    response = web_client_for(member).get(f"/environments/{environment.pk}/api/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Protect a service" in page
    assert page.count('class="button button-small copy-button" data-copy="protect-') == 3
    assert f"proxy_pass {authorize_url};" in page
    assert "forward_auth http://testserver {" in page
    assert f"uri /api/v1/environments/{environment.pk}/authorize/" in page
    assert html.escape(f'address: "{authorize_url}"') in page


# --- The API page's help ----------------------------------------------------------------------


def test_the_api_page_explains_rotating_a_key_in_order(web_client_for, owner, reader, environment):
    html = web_client_for(owner).get(f"/environments/{environment.pk}/api/").content.decode()
    steps = re.search(r'<details class="howto" id="rotating-a-key">(.*?)</details>', html, re.S).group(1)
    order = ["Add the new key", "Switch the client", "Last used", "Deactivate the old key", "Delete the old key"]
    assert [steps.index(step) for step in order] == sorted(steps.index(step) for step in order)
    assert f'href="/environments/{environment.pk}/api/keys/add/"' in steps
    # A read-only member is not offered a link to a form they may not use.
    reader_html = web_client_for(reader).get(f"/environments/{environment.pk}/api/").content.decode()
    assert "Rotating a key" in reader_html
    assert f'href="/environments/{environment.pk}/api/keys/add/"' not in reader_html

"""Dashboard pages for environments and members: sign-in, roles, CSRF, messages and error pages."""

import re

import pytest

from common.access import ACCESS_CONTROL_OFF
from environments import services as environment_services
from environments.models import Environment, Membership, Role

pytestmark = pytest.mark.django_db


def csrf_token(client, url):
    """GET ``url`` and return the CSRF token its form carries."""
    response = client.get(url)
    assert response.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def dashboard_urls(environment, membership):
    e = environment.pk
    return [
        "/",
        "/environments/",
        "/environments/add/",
        f"/environments/{e}/edit/",
        f"/environments/{e}/delete/",
        f"/environments/{e}/members/",
        f"/environments/{e}/members/{membership.pk}/remove/",
        f"/environments/{e}/api/",
        f"/environments/{e}/api/keys/add/",
    ]


# --- Sign-in and access control -------------------------------------------------------------


def test_every_page_sends_anonymous_visitors_to_sign_in_when_access_control_is_on(web_client_for, environment, member):
    membership = Membership.objects.get(environment=environment, user=member)
    for url in dashboard_urls(environment, membership):
        response = web_client_for().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_every_page_opens_without_sign_in_and_shows_the_banner_when_access_control_is_off(
    web_client_for, environment, member, settings
):
    settings.ACCESS_CONTROL = False
    membership = Membership.objects.get(environment=environment, user=member)
    for url in dashboard_urls(environment, membership):
        response = web_client_for().get(url, follow=True)
        assert response.status_code == 200, url
        assert ACCESS_CONTROL_OFF in response.content.decode(), url


def test_banner_is_absent_when_access_control_is_on(web_client_for, owner, environment):
    response = web_client_for(owner).get("/environments/")
    assert response.status_code == 200
    assert ACCESS_CONTROL_OFF not in response.content.decode()


def test_anonymous_visitor_can_add_an_environment_when_access_control_is_off(web_client_for, settings):
    settings.ACCESS_CONTROL = False
    client = web_client_for()
    response = client.post("/environments/add/", {"name": "sandbox", "description": ""})
    environment = Environment.objects.get(name="sandbox")
    assert response.status_code == 302
    assert response["Location"] == f"/environments/{environment.pk}/api/"
    assert not Membership.objects.filter(environment=environment).exists()


def test_login_page_has_labelled_fields_and_signs_the_user_in(web_client_for, owner):
    client = web_client_for()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="id_username">' in html
    assert '<label for="id_password">' in html
    response = client.post("/accounts/login/", {"username": owner.username, "password": owner.username * 2})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/environments/").status_code == 200


def test_sign_out_is_a_post_and_ends_the_session(web_client_for, owner):
    client = web_client_for(owner)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/environments/").status_code == 302


def test_wrong_password_shows_an_error_on_the_login_page(web_client_for, owner):
    response = web_client_for().post("/accounts/login/", {"username": owner.username, "password": "wrong-password"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


# --- Header ---------------------------------------------------------------------------------


def test_header_links_to_the_admin_for_staff_only(web_client_for, owner, superuser, environment):
    assert 'href="/admin/"' not in web_client_for(owner).get("/environments/").content.decode()
    assert 'href="/admin/"' in web_client_for(superuser).get("/environments/").content.decode()


def test_switcher_lists_only_the_environments_the_user_may_see(web_client_for, owner, environment, other_environment):
    html = web_client_for(owner).get("/environments/").content.decode()
    switcher = html.split('aria-label="Switch environment"')[1].split("</details>")[0]
    assert f'value="{environment.pk}"' in switcher
    assert f'value="{other_environment.pk}"' not in switcher


def test_switching_environment_is_remembered_in_the_session(web_client_for, owner, environment):
    second = Environment.objects.create(name="qa")
    Membership.objects.create(environment=second, user=owner, role=Role.OWNER)
    client = web_client_for(owner)
    assert client.get("/")["Location"] == "/environments/"
    response = client.post("/environments/switch/", {"environment": second.pk})
    assert response.status_code == 302
    assert response["Location"] == f"/environments/{second.pk}/api/"
    assert client.get("/")["Location"] == f"/environments/{second.pk}/api/"
    html = client.get("/environments/").content.decode()
    assert f'value="{second.pk}" class="menu-item" aria-current="true"' in html


@pytest.mark.parametrize(
    "value",
    [pytest.param("", id="empty"), pytest.param("abc", id="not-a-number"), pytest.param("999999", id="unknown")],
)
def test_switching_to_an_unknown_environment_is_not_found(web_client_for, owner, environment, value):
    assert web_client_for(owner).post("/environments/switch/", {"environment": value}).status_code == 404


def test_switching_to_an_environment_of_others_is_not_found(web_client_for, owner, other_environment):
    client = web_client_for(owner)
    assert client.post("/environments/switch/", {"environment": other_environment.pk}).status_code == 404
    assert "current_environment" not in client.session


def test_switching_needs_a_post(web_client_for, owner, environment):
    assert web_client_for(owner).get("/environments/switch/").status_code == 405


# --- Environments list ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, role",
    [
        pytest.param("owner", "Owner", id="owner"),
        pytest.param("member", "Member", id="member"),
        pytest.param("reader", "Read-only", id="read-only"),
        pytest.param("superuser", "Superuser", id="superuser"),
    ],
)
def test_list_shows_each_user_their_role_and_the_active_key_count(
    web_client_for, request, environment, make_key, who, role
):
    make_key(environment)
    make_key(environment)
    inactive, _ = make_key(environment)
    inactive.state = "inactive"
    inactive.save()
    response = web_client_for(request.getfixturevalue(who)).get("/environments/")
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert row["environment"] == environment
    assert row["role"] == role
    assert row["environment"].active_key_count == 2
    assert f'<td data-label="Your role">{role}</td>' in response.content.decode()


def test_list_hides_environments_of_others(web_client_for, outsider, environment, other_environment):
    response = web_client_for(outsider).get("/environments/")
    assert [row["environment"] for row in response.context["rows"]] == [other_environment]


def test_list_offers_edit_and_delete_to_owners_only(web_client_for, owner, member, environment):
    owner_html = web_client_for(owner).get("/environments/").content.decode()
    member_html = web_client_for(member).get("/environments/").content.decode()
    for html in (owner_html, member_html):
        assert f'href="http://testserver/api/v1/environments/{environment.pk}/">View in API' in html
    assert f"/environments/{environment.pk}/edit/" in owner_html
    assert f"/environments/{environment.pk}/delete/" in owner_html
    assert f"/environments/{environment.pk}/edit/" not in member_html
    assert f"/environments/{environment.pk}/delete/" not in member_html


def test_empty_list_says_so(web_client_for, outsider):
    response = web_client_for(outsider).get("/environments/")
    assert "You are not a member of any environment yet." in response.content.decode()


# --- Add, edit, delete an environment -------------------------------------------------------


def test_adding_an_environment_makes_the_creator_its_owner(web_client_for, member):
    client = web_client_for(member)
    response = client.post("/environments/add/", {"name": "  analytics ", "description": "Reports"}, follow=True)
    environment = Environment.objects.get(name="analytics")
    assert response.redirect_chain == [(f"/environments/{environment.pk}/api/", 302)]
    assert Membership.objects.get(environment=environment).role == Role.OWNER
    assert page_messages(response) == ["Environment analytics added."]


@pytest.mark.parametrize(
    "data, field, message",
    [
        pytest.param({"name": ""}, "name", "This field is required.", id="missing-name"),
        pytest.param({"name": "   "}, "name", "This field is required.", id="blank-name"),
        pytest.param({"name": "x" * 101}, "name", "at most 100 characters", id="long-name"),
        pytest.param({"name": "production"}, "name", "already exists", id="taken-name"),
    ],
)
def test_adding_an_environment_with_bad_input_shows_the_error_next_to_the_field(
    web_client_for, member, environment, data, field, message
):
    response = web_client_for(member).post("/environments/add/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Environment.objects.count() == 1


def test_owner_edits_an_environment(web_client_for, owner, environment):
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/edit/", {"name": "prod", "description": "Renamed"}, follow=True
    )
    environment.refresh_from_db()
    assert (environment.name, environment.description) == ("prod", "Renamed")
    assert page_messages(response) == ["Environment prod saved."]


def test_renaming_to_a_taken_name_is_a_field_error(web_client_for, owner, environment, other_environment):
    response = web_client_for(owner).post(f"/environments/{environment.pk}/edit/", {"name": "staging"})
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["name"][0]
    environment.refresh_from_db()
    assert environment.name == "production"


@pytest.mark.parametrize(
    "who, status",
    [
        pytest.param("member", 403, id="member"),
        pytest.param("reader", 403, id="read-only"),
        pytest.param("outsider", 404, id="outsider"),
    ],
)
@pytest.mark.parametrize("action", ["edit", "delete"])
def test_only_owners_edit_or_delete_an_environment(web_client_for, request, environment, who, status, action):
    client = web_client_for(request.getfixturevalue(who))
    assert client.get(f"/environments/{environment.pk}/{action}/").status_code == status
    response = client.post(f"/environments/{environment.pk}/{action}/", {"name": "hijacked"})
    assert response.status_code == status
    environment.refresh_from_db()
    assert environment.name == "production"


def test_superuser_may_edit_any_environment(web_client_for, superuser, environment):
    response = web_client_for(superuser).post(
        f"/environments/{environment.pk}/edit/", {"name": "prod", "description": ""}
    )
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.name == "prod"


def test_deleting_an_environment_asks_first_then_deletes_it_with_its_keys(web_client_for, owner, environment, key_pair):
    client = web_client_for(owner)
    confirm = client.get(f"/environments/{environment.pk}/delete/")
    assert confirm.status_code == 200
    assert "1 API key" in confirm.content.decode()
    assert Environment.objects.filter(pk=environment.pk).exists()
    response = client.post(f"/environments/{environment.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/environments/", 302)]
    assert not Environment.objects.filter(pk=environment.pk).exists()
    assert page_messages(response) == ["Environment production deleted, with its API keys."]


# --- Members --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, status, can_manage",
    [
        pytest.param("owner", 200, True, id="owner"),
        pytest.param("member", 200, False, id="member"),
        pytest.param("reader", 200, False, id="read-only"),
        pytest.param("superuser", 200, True, id="superuser"),
        pytest.param("outsider", 404, False, id="outsider"),
    ],
)
def test_members_page_is_read_only_for_everyone_but_owners(
    web_client_for, request, environment, who, status, can_manage
):
    response = web_client_for(request.getfixturevalue(who)).get(f"/environments/{environment.pk}/members/")
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert [row["membership"].user.username for row in response.context["rows"]] == ["marco", "olivia", "rita"]
        assert f"/api/v1/environments/{environment.pk}/members/" in response.context["rows"][0]["api_url"]
        assert (">Remove…</a>" in html) is can_manage
        assert ("Add a member" in html) is can_manage
        assert ("/role/" in html) is can_manage
        assert ("Only owners can change who is a member." in html) is not can_manage


def test_owner_adds_a_member_with_a_role(web_client_for, owner, environment, outsider):
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/members/", {"username": "oscar", "role": "read-only"}, follow=True
    )
    assert Membership.objects.get(environment=environment, user=outsider).role == Role.READ_ONLY
    assert page_messages(response) == ["oscar added to production as Read-only."]


@pytest.mark.parametrize(
    "data, field, message",
    [
        pytest.param({"username": "nobody", "role": "member"}, "username", "There is no user named", id="unknown-user"),
        pytest.param({"username": "marco", "role": "member"}, "username", "already a member", id="already-member"),
        pytest.param({"username": "", "role": "member"}, "username", "This field is required.", id="no-username"),
        pytest.param({"username": "oscar", "role": "admin"}, "role", "Select a valid choice.", id="unknown-role"),
    ],
)
def test_adding_a_member_with_bad_input_shows_the_error_next_to_the_field(
    web_client_for, owner, environment, outsider, data, field, message
):
    response = web_client_for(owner).post(f"/environments/{environment.pk}/members/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Membership.objects.filter(environment=environment).count() == 3


@pytest.mark.parametrize(
    "who, status", [pytest.param("member", 403, id="member"), pytest.param("outsider", 404, id="outsider")]
)
def test_only_owners_add_change_or_remove_members(web_client_for, request, environment, reader, who, status):
    client = web_client_for(request.getfixturevalue(who))
    membership = Membership.objects.get(environment=environment, user=reader)
    base = f"/environments/{environment.pk}/members/"
    assert client.post(base, {"username": "oscar", "role": "owner"}).status_code == status
    assert client.post(f"{base}{membership.pk}/role/", {"role": "owner"}).status_code == status
    assert client.post(f"{base}{membership.pk}/remove/").status_code == status
    membership.refresh_from_db()
    assert membership.role == Role.READ_ONLY


def test_owner_changes_a_members_role(web_client_for, owner, member, environment):
    membership = Membership.objects.get(environment=environment, user=member)
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/members/{membership.pk}/role/", {"role": "owner"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert page_messages(response) == ["marco is now Owner."]


def test_the_last_owner_cannot_be_demoted(web_client_for, owner, environment):
    membership = Membership.objects.get(environment=environment, user=owner)
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/members/{membership.pk}/role/", {"role": "member"}, follow=True
    )
    membership.refresh_from_db()
    assert membership.role == Role.OWNER
    assert page_messages(response) == ["An environment must keep at least one owner."]


def test_the_last_owner_cannot_be_removed(web_client_for, owner, environment):
    membership = Membership.objects.get(environment=environment, user=owner)
    response = web_client_for(owner).post(
        f"/environments/{environment.pk}/members/{membership.pk}/remove/", follow=True
    )
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert page_messages(response) == ["An environment must keep at least one owner."]


def test_removing_a_member_asks_first(web_client_for, owner, member, environment):
    membership = Membership.objects.get(environment=environment, user=member)
    client = web_client_for(owner)
    url = f"/environments/{environment.pk}/members/{membership.pk}/remove/"
    assert "Remove marco from production?" in client.get(url).content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    response = client.post(url, follow=True)
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert page_messages(response) == ["marco removed from production."]


def test_a_member_of_another_environment_is_not_found(web_client_for, owner, environment, other_environment, outsider):
    foreign = Membership.objects.get(environment=other_environment, user=outsider)
    response = web_client_for(owner).post(f"/environments/{environment.pk}/members/{foreign.pk}/remove/")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


# --- CSRF and error pages -------------------------------------------------------------------


def test_posts_without_a_csrf_token_are_refused(web_client_for, owner, environment, member):
    client = web_client_for(owner, enforce_csrf_checks=True)
    membership = Membership.objects.get(environment=environment, user=member)
    for url, data in [
        ("/environments/add/", {"name": "sneaky"}),
        (f"/environments/{environment.pk}/edit/", {"name": "sneaky"}),
        (f"/environments/{environment.pk}/delete/", {}),
        ("/environments/switch/", {"environment": environment.pk}),
        (f"/environments/{environment.pk}/members/", {"username": "oscar", "role": "owner"}),
        (f"/environments/{environment.pk}/members/{membership.pk}/role/", {"role": "owner"}),
        (f"/environments/{environment.pk}/members/{membership.pk}/remove/", {}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "This form could not be checked" in response.content.decode(), url
    environment.refresh_from_db()
    membership.refresh_from_db()
    assert environment.name == "production"
    assert membership.role == Role.MEMBER
    assert Environment.objects.count() == 1


def test_posts_with_the_csrf_token_are_accepted(web_client_for, owner, environment):
    client = web_client_for(owner, enforce_csrf_checks=True)
    token = csrf_token(client, f"/environments/{environment.pk}/edit/")
    response = client.post(f"/environments/{environment.pk}/edit/", {"name": "prod", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.name == "prod"


def test_not_found_and_forbidden_pages_look_like_the_dashboard(web_client_for, member, environment):
    client = web_client_for(member)
    missing = client.get("/environments/999999/api/")
    forbidden = client.get(f"/environments/{environment.pk}/edit/")
    assert (missing.status_code, forbidden.status_code) == (404, 403)
    for response, heading in [(missing, "Page not found"), (forbidden, "You cannot do this")]:
        html = response.content.decode()
        assert '<a class="brand" href="/">envkeys</a>' in html
        assert f"<h1>{heading}</h1>" in html
        assert "marco" in html  # the user menu is there as on every page


def test_unknown_api_urls_still_answer_json(web_client_for, owner):
    response = web_client_for(owner).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_server_error_page_renders_without_a_request_context(rf):
    from common.api.errors import handler500

    response = handler500(rf.get("/environments/"))
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in response.content.decode()


def test_the_environment_list_costs_the_same_queries_for_two_or_six_environments(client, member, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/environments/").status_code == 200
        return len(captured)

    client.force_login(member)
    for number in range(2):
        environment = environment_services.create_environment(name=f"env-{number}", owner=owner)
        environment_services.add_member(environment=environment, username=member.username, role=Role.MEMBER)
    with_two = queries_for_list()
    for number in range(2, 6):
        environment = environment_services.create_environment(name=f"env-{number}", owner=owner)
        environment_services.add_member(environment=environment, username=member.username, role=Role.MEMBER)

    assert queries_for_list() == with_two

"""LOCAL_ACCOUNTS=false: only superusers sign in with a local password, and other local sessions end."""

import pytest

pytestmark = pytest.mark.django_db

GENERIC = "Please enter a correct username and password. Note that both fields may be case-sensitive."


@pytest.fixture
def local_accounts_off(settings):
    settings.LOCAL_ACCOUNTS = False
    return settings


def test_with_local_accounts_on_a_local_user_signs_in(client, owner):
    response = client.post("/accounts/login/", {"username": owner.username, "password": owner.username * 2})
    assert response.status_code == 302


def test_with_local_accounts_off_a_local_user_gets_the_usual_error(client, owner, local_accounts_off):
    response = client.post("/accounts/login/", {"username": owner.username, "password": owner.username * 2})
    assert response.status_code == 200
    assert list(response.context["form"].non_field_errors()) == [GENERIC]
    assert "_auth_user_id" not in client.session


def test_with_local_accounts_off_the_superuser_still_signs_in(client, superuser, local_accounts_off):
    response = client.post("/accounts/login/", {"username": "root", "password": "rootroot"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_with_local_accounts_off_an_existing_local_session_ends(client, owner, environment, settings):
    client.force_login(owner)
    assert client.get("/").status_code == 302
    assert client.get(f"/environments/{environment.pk}/members/").status_code == 200

    settings.LOCAL_ACCOUNTS = False
    response = client.get(f"/environments/{environment.pk}/members/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_with_local_accounts_off_the_admin_refuses_a_local_staff_user(client, make_user, local_accounts_off):
    make_user("staffer", is_staff=True)
    response = client.post("/admin/login/", {"username": "staffer", "password": "stafferstaffer"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session

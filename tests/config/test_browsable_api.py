"""The browsable API: HTML pages for people signed in by session, with login and logout links."""

import pytest
from django.test import Client

from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

HTML = {"HTTP_ACCEPT": "text/html"}


def test_a_signed_in_user_browses_the_api_as_html_with_a_logout_link(owner, environment):
    client = Client()
    client.force_login(owner)

    response = client.get(f"/api/v1/environments/{environment.pk}/", **HTML)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "/api/auth/logout/" in page
    assert f'href="http://testserver/api/v1/environments/{environment.pk}/apikeys/"' in page


def test_signing_in_through_the_login_link_opens_the_api(owner, environment):
    client = Client()
    login_page = client.get("/api/auth/login/?next=/api/v1/")
    assert login_page.status_code == 200

    signed_in = client.post("/api/auth/login/?next=/api/v1/", {"username": "olivia", "password": "oliviaolivia"})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/api/v1/"

    root = client.get("/api/v1/", **HTML)
    assert root.status_code == 200
    assert "http://testserver/api/v1/environments/" in root.content.decode()

    signed_out = client.post("/api/auth/logout/?next=/api/v1/")
    assert signed_out.status_code == 302
    assert client.get("/api/v1/", **HTML).status_code == 401


def test_without_a_session_the_page_challenges_for_a_key_and_offers_the_dashboard_sign_in():
    response = Client().get("/api/v1/", **HTML)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="envkeys"')
    assert 'href="/accounts/login/?next=/api/v1/"' in response.content.decode()


def test_a_key_browses_its_environment_as_html(key_pair, environment):
    key, secret = key_pair

    response = Client().get(
        f"/api/v1/environments/{environment.pk}/", HTTP_AUTHORIZATION=basic_auth(key.access_key, secret), **HTML
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert f"API key {key.access_key}" in response.content.decode()


def test_the_key_list_page_offers_a_create_form_to_a_member(member, environment):
    client = Client()
    client.force_login(member)

    response = client.get(f"/api/v1/environments/{environment.pk}/apikeys/", **HTML)

    assert response.status_code == 200
    assert 'name="description"' in response.content.decode()


def test_a_session_post_needs_the_csrf_token(owner, environment):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(f"/api/v1/environments/{environment.pk}/apikeys/", {"name": "x"})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]


def test_the_browsable_apis_401_page_asks_for_the_key_pair_and_links_the_dashboard_sign_in(environment):
    url = f"/api/v1/environments/{environment.pk}/"
    response = Client().get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    html = response.content.decode()
    assert "the <strong>access key</strong> as the username and the <strong>secret key</strong> as the password" in html
    assert html.count(f'href="/accounts/login/?next={url}"') == 2
    assert "/api/auth/login/" not in html


def test_the_browsable_api_shows_no_key_pair_help_once_the_pair_is_given(environment, key_pair):
    key, secret = key_pair
    response = Client().get(
        f"/api/v1/environments/{environment.pk}/",
        HTTP_ACCEPT="text/html",
        HTTP_AUTHORIZATION=basic_auth(key.access_key, secret),
    )
    assert response.status_code == 200
    assert "key-pair-help" not in response.content.decode()

"""API plumbing: JSON error pages for URLs no endpoint matches, DEBUG or not."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [pytest.param(False, id="debug-off"), pytest.param(True, id="debug-on")])
@pytest.mark.parametrize("path", ["/api/", "/api/nothing", "/api/v2/environments/", "/api/v1/environments/1/nope/"])
def test_a_url_under_api_that_matches_nothing_is_a_json_404(settings, key_client, debug, path):
    settings.DEBUG = debug

    response = key_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_get_without_the_trailing_slash_is_redirected_with_its_query(key_client, environment):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/apikeys?state=active")

    assert response.status_code == 301
    assert response["Location"] == f"/api/v1/environments/{environment.pk}/apikeys/?state=active"


@pytest.mark.parametrize("debug", [pytest.param(False, id="debug-off"), pytest.param(True, id="debug-on")])
def test_a_post_without_the_trailing_slash_is_told_about_it_not_redirected(settings, key_client, environment, debug):
    settings.DEBUG = debug

    response = key_client.post(f"/api/v1/environments/{environment.pk}/apikeys", {"name": "x"}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": f"Not found. API URLs end with a slash: /api/v1/environments/{environment.pk}/apikeys/",
    }
    assert environment.api_keys.count() == 1


def test_a_url_outside_api_keeps_the_html_404(client, db):
    response = client.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_in_a_format_the_api_does_not_read_is_a_json_415(key_client, environment):
    response = key_client.post(f"/api/v1/environments/{environment.pk}/apikeys/", "name=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert environment.api_keys.count() == 1


def test_a_format_the_api_does_not_speak_is_a_406(key_client, environment):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_a_signed_in_post_to_an_unknown_api_url_is_a_json_404_not_a_csrf_page(owner, db):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post("/api/v1/environments/abc/apikeys/", {})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_failed_csrf_check_under_api_is_json(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/auth/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "csrf_failed"


def test_a_failed_csrf_check_on_a_dashboard_page_is_the_html_page(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_a_refused_request_does_not_write_a_log_line(api_client, environment, caplog):
    import logging

    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert api_client.get(f"/api/v1/environments/{environment.pk}/").status_code == 401

    assert [record for record in caplog.records if record.name == "django.request"] == []

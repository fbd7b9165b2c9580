"""The seed page's whole story in a real browser: sign in, switch environment, add, use, deactivate,
activate, edit and delete an environment API key; the endpoint's key-pair prompt; the open-access banner.
"""

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from apikeys import services as key_services
from apikeys import usage
from apikeys.models import ApiKey
from common.access import ACCESS_CONTROL_OFF
from common.actor import Actor
from environments import services as environment_services
from tests.support.auth import basic_auth

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"

# Requests to the live server go straight to it, whatever proxy the environment names.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def status_with_key(url: str, access_key: str, secret: str) -> int:
    """Return the HTTP status of GET ``url`` sent with the key pair, as ``curl -u`` would."""
    request = urllib.request.Request(
        url, headers={"Authorization": basic_auth(access_key, secret), "Accept": "application/json"}
    )
    try:
        with _direct.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def open_row_menu(page, access_key: str):
    """Open the dropdown of the key's row and return the row."""
    row = page.locator("tr.key-row", has_text=access_key)
    row.locator("summary").click()
    return row


def test_the_seed_page_story(page, live_server, django_user_model, shoot):
    owner = django_user_model.objects.create_user("olivia", password=PASSWORD)
    production = environment_services.create_environment(name="production", description="Live systems", owner=owner)
    environment_services.create_environment(name="staging", description="Pre-release checks", owner=owner)
    # Two keys that were there before, so the pages show more than one state.
    monitoring, _ = key_services.create_api_key(
        environment=production, name="monitoring", description="Uptime checks", permission="read-only"
    )
    usage.record_key_use(key=monitoring)
    old, _ = key_services.create_api_key(environment=production, name="old-backup", description="Replaced in May")
    key_services.deactivate_api_key(key=old)
    endpoint = f"{live_server.url}/api/v1/environments/{production.pk}/"

    # Sign in.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Environments")).to_be_visible()
    shoot(page, "environments-list")

    # Switch to the production environment with the header's switcher.
    page.locator(".switcher summary").click()
    shoot(page, "switcher-open")
    page.get_by_role("button", name="production").click()
    expect(page.locator(".env-name")).to_have_text("production")
    expect(page.locator(".switcher-current")).to_have_text("production")
    expect(page.locator("#endpoint")).to_have_text(endpoint)

    # Add a key; the form says which environment it is for.
    page.get_by_role("link", name="Add Environment API Key").click()
    expect(page.locator(".env-callout-name")).to_have_text("production")
    page.get_by_label("Name").fill("ci-deploy")
    page.get_by_label("Description").fill("Deploys from CI")
    shoot(page, "add-key")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()

    # Copy the pair: read it from the page, and check that the copy button copies it.
    access_key = page.locator("#access-key").text_content()
    secret = page.locator("#secret-key").text_content()
    page.get_by_role("button", name="Copy Secret Key (Password)").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(page.locator("#curl-line")).to_have_text(f"curl -u {access_key}:{secret} {endpoint}")
    shoot(page, "key-created")

    # Use it with a real HTTP request to the live server.
    assert status_with_key(endpoint, access_key, secret) == 200

    # Close. Going back finds nothing cached (no-store), and sending the form again creates no key
    # and shows no secret: it names the key the form created.
    page.get_by_role("link", name="Close").click()
    expect(page.locator("tr.key-row", has_text=access_key).locator(".badge")).to_have_text("Active")
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    expect(page.locator("body")).not_to_contain_text(secret)
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("Its secret key can no longer be shown.")
    expect(page.locator("code.access-key")).to_have_text(access_key)
    assert secret not in page.content()
    assert ApiKey.objects.filter(environment=production).count() == 3
    page.goto(f"/environments/{production.pk}/api/")
    shoot(page, "api-page")

    # View the key in the browsable API, with the same session.
    open_row_menu(page, access_key).get_by_role("link", name="View in API").click()
    expect(page.locator("body")).to_contain_text(access_key)
    assert secret not in page.content()
    page.go_back()

    # Deactivate it, confirming: the next request with the pair is refused.
    open_row_menu(page, access_key).get_by_role("link", name="Deactivate…").click()
    expect(page.get_by_role("heading", name="Deactivate API key ci-deploy?")).to_be_visible()
    page.get_by_role("button", name="Deactivate key").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text("deactivated")
    row = page.locator("tr.key-row", has_text=access_key)
    expect(row.locator(".badge")).to_have_text("Inactive")
    assert status_with_key(endpoint, access_key, secret) == 401
    shoot(page, "api-page-inactive-key")

    # Activate it again, with the keyboard only: Enter opens the menu, Tab walks it (Edit, Activate).
    row.locator("summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Activate")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("tr.key-row", has_text=access_key).locator(".badge")).to_have_text("Active")
    assert status_with_key(endpoint, access_key, secret) == 200

    # Edit its name: the access key is shown, not editable.
    open_row_menu(page, access_key).get_by_role("link", name="Edit").click()
    expect(page.locator("#access-key")).to_have_text(access_key)
    page.get_by_label("Name").fill("ci-deploy-2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("tr.key-row", has_text=access_key).locator(".key-name")).to_have_text("ci-deploy-2")

    # Deactivate it and delete it, confirming.
    open_row_menu(page, access_key).get_by_role("link", name="Deactivate…").click()
    page.get_by_role("button", name="Deactivate key").click()
    open_row_menu(page, access_key).get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete API key ci-deploy-2?")).to_be_visible()
    page.get_by_role("button", name="Delete key").click()
    expect(page.get_by_text(f"API key “ci-deploy-2” ({access_key}) deleted.")).to_be_visible()
    expect(page.locator("tr.key-row", has_text=access_key)).to_have_count(0)
    assert status_with_key(endpoint, access_key, secret) == 401
    assert not ApiKey.objects.filter(access_key=access_key).exists()

    # The environment's other tab: its members.
    page.get_by_role("link", name="Members").click()
    expect(page.locator("tr", has_text="olivia")).to_contain_text("(you)")
    shoot(page, "members")


def test_the_endpoint_asks_a_browser_for_the_key_pair(browser, live_server, transactional_db, shoot):
    environment = environment_services.create_environment(name="production")
    key, secret = key_services.create_api_key(environment=environment, name="browser")
    endpoint = f"{live_server.url}/api/v1/environments/{environment.pk}/"

    # Not signed in and no key: the endpoint answers with a Basic challenge, the browser's prompt.
    anonymous = browser.new_context()
    try:
        response = anonymous.request.get(endpoint, headers={"Accept": "text/html"})
        assert response.status == 401
        assert response.headers["www-authenticate"] == 'Basic realm="envkeys", charset="UTF-8"'
    finally:
        anonymous.close()

    # Answering the prompt with the key pair opens the browsable API. (Chromium sends the pair
    # only in answer to that challenge.)
    with_pair = browser.new_context(http_credentials={"username": key.access_key, "password": secret})
    try:
        page = with_pair.new_page()
        response = page.goto(endpoint)
        assert response.status == 200
        expect(page.locator(".response-info")).to_contain_text('"name": "production"')
        expect(page.locator(".response-info")).to_contain_text(f"/api/v1/environments/{environment.pk}/apikeys/")
        shoot(page, "browsable-api")
    finally:
        with_pair.close()


def test_with_access_control_off_every_page_warns_and_needs_no_sign_in(page, settings, shoot):
    settings.ACCESS_CONTROL = False
    environment = environment_services.create_environment(name="sandbox", description="Open to anyone")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/environments/$"))
    banner = page.locator(".banner-danger")
    expect(banner).to_contain_text(ACCESS_CONTROL_OFF)
    expect(banner).to_have_css("background-color", "rgb(180, 35, 24)")
    page.get_by_role("link", name="sandbox").click()
    expect(page.locator(".env-name")).to_have_text("sandbox")
    expect(page.locator(".banner-danger")).to_contain_text(ACCESS_CONTROL_OFF)
    shoot(page, "access-control-off")
    page.goto(f"/environments/{environment.pk}/members/")
    expect(page.locator(".banner-danger")).to_contain_text(ACCESS_CONTROL_OFF)
    response = page.goto("/environments/999999/api/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".banner-danger")).to_contain_text(ACCESS_CONTROL_OFF)
    shoot(page, "not-found")


def test_the_audit_log_tab_lists_events_and_fits_a_phone_screen(page, django_user_model, shoot):
    owner = django_user_model.objects.create_user("olivia", password=PASSWORD)
    production = environment_services.create_environment(
        name="production", description="Live systems", owner=owner, actor=Actor(owner, "203.0.113.7")
    )
    key, _ = key_services.create_api_key(
        environment=production, name="ci-deploy", description="Deploys from CI", actor=Actor(owner, "203.0.113.7")
    )
    key_services.update_api_key(key=key, name="ci-old", description="Replaced", actor=Actor(owner, "203.0.113.7"))
    key_services.deactivate_api_key(key=key, actor=Actor(owner, "203.0.113.7"))

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/environments/{production.pk}/api/")
    page.get_by_role("link", name="Audit log").click()

    rows = page.locator("table.events tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text(f"olivia deactivated key ci-old ({key.access_key})")
    expect(rows.first).to_contain_text("State: Active → Inactive")
    shoot(page, "audit-log")

    # Like every other page, the log fits a phone's width: no sideways scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

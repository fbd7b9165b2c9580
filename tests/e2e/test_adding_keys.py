"""Adding a key in a real browser: a double submit on a slow connection, the expiry presets, the
"API Key Created" page's .netrc line, download and Close prompt, the audit log's sentences, the
browsable API's 401 page and the "Rotating a key" help.
"""

import datetime
import re
import urllib.parse

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apikeys import crypto
from apikeys import services as key_services
from apikeys.models import ApiKey, State
from common.actor import Actor
from environments import services as environment_services
from tests.e2e.test_dashboard import PASSWORD, status_with_key

pytestmark = pytest.mark.browser

# DevTools throttling: every request and response of the page waits this long, as on a slow link.
LATENCY_MS = 300
# The two clicks of a double click on Create, as a hurried person makes them.
SECOND_CLICK_AFTER_MS = 120


@pytest.fixture
def production(django_user_model, transactional_db):
    owner = django_user_model.objects.create_user("olivia", password=PASSWORD)
    return environment_services.create_environment(name="production", description="Live systems", owner=owner)


def sign_in(page, username: str = "olivia") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Environments")).to_be_visible()


def throttle(page) -> None:
    """Give the page a slow connection with Chromium's own network emulation (DevTools protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def double_click_create(page) -> None:
    """Click Create twice, 120 ms apart, with the mouse: real clicks, whatever the button's state."""
    button = page.get_by_role("button", name="Create")
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(SECOND_CLICK_AFTER_MS)
    page.mouse.click(x, y)


def fill_add_form(page, environment, name: str) -> None:
    page.goto(f"/environments/{environment.pk}/api/keys/add/")
    page.get_by_label("Name").fill(name)


def test_a_double_click_on_create_on_a_slow_connection_sends_one_form(page, production, live_server, shoot):
    sign_in(page)
    fill_add_form(page, production, "deploy-bot")
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    throttle(page)

    double_click_create(page)

    # The button was disabled by the first click: one POST, and the page that answers it shows the secret.
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    assert len(posts) == 1
    key = ApiKey.objects.get(environment=production)
    secret = page.locator("#secret-key").text_content()
    assert crypto.verify_secret(secret, key.secret_hash)
    assert status_with_key(f"{live_server.url}/api/v1/environments/{production.pk}/", key.access_key, secret) == 200


def test_without_javascript_a_double_click_shows_the_key_the_first_post_made_with_one_click_to_deactivate_it(
    browser, live_server, production, shoot
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page)
        fill_add_form(page, production, "deploy-bot")
        # A slow link, made certain: the first post reaches the server (which creates the key), and
        # its answer is held back, so the second click comes while the browser still waits for it.
        # (Chromium's own latency emulation may cancel the first post before it is sent at all.)
        answered = []

        def slow_first_answer(route):
            if route.request.method != "POST" or answered:
                route.continue_()
                return
            answered.append(route.fetch())  # never fulfilled: the second click replaces this navigation

        page.route("**/api/keys/add/", slow_first_answer)
        button = page.get_by_role("button", name="Create")
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(250):
            if answered:
                break
            page.wait_for_timeout(20)
        assert answered and answered[0].status == 200
        assert ApiKey.objects.filter(environment=production).count() == 1
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

        # Both posts reached the server; the browser shows the answer to the second: it names the
        # key the first one created and says its secret is gone.
        expect(page.get_by_role("heading", name="This form already created a key")).to_be_visible()
        key = ApiKey.objects.get(environment=production)
        expect(page.get_by_role("alert")).to_contain_text("Its secret key can no longer be shown.")
        expect(page.locator(".key-name")).to_have_text("deploy-bot")
        expect(page.locator("code.access-key")).to_have_text(key.access_key)
        shoot(page, "key-already-created")

        page.get_by_role("button", name=f"Deactivate {key.access_key}").click()
        expect(page.get_by_role("heading", name="Add Environment API Key")).to_be_visible()
        expect(page.locator(".messages")).to_contain_text("deactivated")
        key.refresh_from_db()
        assert key.state == State.INACTIVE
    finally:
        context.close()


def test_the_add_form_preselects_30_days_and_each_preset_sets_the_expiry(page, production, shoot):
    sign_in(page)
    page.goto(f"/environments/{production.pk}/api/keys/add/")
    expect(page.locator(".env-callout-name")).to_have_text("production")
    expect(page.get_by_role("radio", name=re.compile(r"^30 days"))).to_be_checked()
    for label in ("7 days", "90 days", "On a date", "Never"):
        expect(page.get_by_role("radio", name=re.compile(f"^{label}"))).not_to_be_checked()
    shoot(page, "add-key-expiry-presets")

    page.get_by_label("Name").fill("weekly")
    page.get_by_role("radio", name=re.compile(r"^7 days")).check()
    before = timezone.now()
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    after = timezone.now()
    expires_at = ApiKey.objects.get(name="weekly").expires_at
    assert before + datetime.timedelta(days=7) <= expires_at <= after + datetime.timedelta(days=7)

    page.goto(f"/environments/{production.pk}/api/keys/add/")
    page.get_by_label("Name").fill("dated")
    page.get_by_role("radio", name="On a date").check()
    page.get_by_label("Expiry date").fill("2999-12-31")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    assert ApiKey.objects.get(name="dated").expires_at == datetime.datetime(2999, 12, 31, tzinfo=datetime.UTC)

    page.goto(f"/environments/{production.pk}/api/keys/add/")
    page.get_by_label("Name").fill("default")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    default = ApiKey.objects.get(name="default").expires_at
    assert datetime.timedelta(days=29, hours=23) < default - timezone.now() <= datetime.timedelta(days=30)


def test_the_created_page_offers_a_netrc_line_a_download_made_in_the_browser_and_asks_once_on_close(
    page, production, live_server, shoot, tmp_path
):
    sign_in(page)
    fill_add_form(page, production, "deploy-bot")
    page.get_by_label("Description").fill("Deploys from CI")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    expect(page.locator(".created-facts .key-name")).to_have_text("deploy-bot")
    expect(page.locator(".created-facts .key-description")).to_have_text("Deploys from CI")
    access_key = page.locator("#access-key").text_content()
    secret = page.locator("#secret-key").text_content()
    host = urllib.parse.urlsplit(live_server.url).hostname
    netrc_line = f"machine {host} login {access_key} password {secret}"
    expect(page.locator("#netrc-line")).to_have_text(netrc_line)
    page.get_by_role("button", name="Copy .netrc line with this key").click()
    assert page.evaluate("navigator.clipboard.readText()") == netrc_line
    shoot(page, "key-created-with-download")

    # The download is made in the page: no request reaches the server.
    requests = []
    page.on("request", lambda request: requests.append(request.url) if request.url.startswith("http") else None)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download key file (.txt)").click()
    download = download_info.value
    assert download.suggested_filename == f"envkeys-{access_key}.txt"
    assert download.url.startswith("blob:")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text()
    assert f"Access key (username): {access_key}" in text
    assert f"Secret key (password): {secret}" in text
    assert netrc_line in text
    assert "Name: deploy-bot" in text
    assert requests == []


def test_close_asks_once_whether_the_secret_was_saved_unless_copy_or_download_was_used(page, production, shoot):
    sign_in(page)
    fill_add_form(page, production, "not-saved")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()

    # Copying only the access key does not save the secret: Close asks.
    page.get_by_role("button", name="Copy Access Key (Username)").click()
    page.get_by_role("link", name="Close").click()
    dialog = page.get_by_role("dialog", name="Have you saved the secret key?")
    expect(dialog).to_be_visible()
    shoot(page, "close-prompt")
    dialog.get_by_role("button", name="Go back to the key").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
    # It asks once: the second Close closes.
    page.get_by_role("link", name="Close").click()
    expect(page.get_by_role("heading", name="Environment API keys")).to_be_visible()

    # Copying the secret key, or downloading, means Close closes at once.
    for save in ("Copy Secret Key (Password)", "Download key file (.txt)"):
        fill_add_form(page, production, f"saved-{save[:4]}")
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("heading", name="API Key Created")).to_be_visible()
        if save.startswith("Download"):
            with page.expect_download():
                page.get_by_role("button", name=save).click()
        else:
            page.get_by_role("button", name=save).click()
        page.get_by_role("link", name="Close").click()
        expect(page.get_by_role("heading", name="Environment API keys")).to_be_visible()


def test_the_audit_log_reads_like_sentences_and_names_refused_keys_and_addresses(
    page, production, live_server, django_user_model, shoot
):
    owner = django_user_model.objects.get(username="olivia")
    key, secret = key_services.create_api_key(environment=production, name="deploy-bot", actor=Actor(owner))
    key_services.deactivate_api_key(key=key, actor=Actor(owner, "203.0.113.7"))
    key_services.activate_api_key(key=key, actor=Actor(owner, "203.0.113.7"))
    endpoint = f"{live_server.url}/api/v1/environments/{production.pk}/"
    assert status_with_key(endpoint, key.access_key, crypto.generate_secret_key()) == 401

    sign_in(page)
    page.goto(f"/environments/{production.pk}/events/")
    expect(page).to_have_title("Audit log · production · envkeys")
    sentences = page.locator("td.event-sentence")
    expect(sentences.first).to_have_text(
        f"1 refused attempt with key deploy-bot ({key.access_key}) from 127.0.0.1: wrong secret key"
    )
    expect(sentences.nth(1)).to_have_text(f"olivia activated key deploy-bot ({key.access_key})")
    expect(sentences.nth(2)).to_have_text(f"olivia deactivated key deploy-bot ({key.access_key})")
    expect(page.locator("table.events")).to_contain_text("State: Active → Inactive")
    expect(page.locator("table.events")).not_to_contain_text("anonymous")
    shoot(page, "audit-log-sentences")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def cancel_the_key_pair_prompt(page) -> None:
    """Answer every HTTP authentication prompt with Cancel, as a person dismissing the browser's dialog."""
    session = page.context.new_cdp_session(page)
    session.on(
        "Fetch.requestPaused", lambda event: session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
    )
    session.on(
        "Fetch.authRequired",
        lambda event: session.send(
            "Fetch.continueWithAuth",
            {"requestId": event["requestId"], "authChallengeResponse": {"response": "CancelAuth"}},
        ),
    )
    session.send("Fetch.enable", {"handleAuthRequests": True, "patterns": [{"urlPattern": "*"}]})


def test_the_browsable_apis_401_page_says_what_it_wants_and_links_the_dashboard_sign_in(
    browser, live_server, production, shoot
):
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        cancel_the_key_pair_prompt(page)
        endpoint = f"/api/v1/environments/{production.pk}/"
        response = page.goto(endpoint)
        assert response.status == 401
        help_note = page.locator(".key-pair-help")
        expect(help_note).to_contain_text("access key as the username and the secret key as the password")
        expect(page.get_by_role("link", name="Log in")).to_have_count(0)
        shoot(page, "browsable-api-401")
        help_note.get_by_role("link", name="sign in to the dashboard").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/api/v1/environments/\d+/$"))
        page.get_by_label("Username").fill("olivia")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".response-info")).to_contain_text('"name": "production"')
    finally:
        context.close()


def test_the_api_page_explains_rotating_a_key(page, production, shoot):
    sign_in(page)
    page.goto(f"/environments/{production.pk}/api/")
    page.get_by_text("Rotating a key").click()
    steps = page.locator("#rotating-a-key ol li")
    expect(steps).to_have_count(5)
    expect(steps.first).to_contain_text("Add the new key")
    expect(steps.last).to_contain_text("Delete the old key")
    page.locator("#rotating-a-key").scroll_into_view_if_needed()
    shoot(page, "rotating-a-key")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

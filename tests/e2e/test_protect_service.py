"""The API page's "Protect a service" section in a real browser: the configurations, their Copy buttons, a phone."""

import pytest
from playwright.sync_api import expect

from environments import services as environment_services

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"


def test_the_api_page_offers_each_proxy_configuration_with_a_copy_button(page, live_server, django_user_model):
    owner = django_user_model.objects.create_user("olivia", password=PASSWORD)
    production = environment_services.create_environment(name="production", owner=owner)
    authorize_url = f"{live_server.url}/api/v1/environments/{production.pk}/authorize/"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"/environments/{production.pk}/api/")

    section = page.locator("section", has=page.get_by_role("heading", name="Protect a service"))
    expect(section.locator("#authorize-url")).to_have_text(authorize_url)
    section.get_by_text("nginx", exact=True).click()
    nginx = section.locator("#protect-nginx")
    expect(nginx).to_be_visible()
    expect(nginx).to_contain_text(f"proxy_pass {authorize_url};")
    section.get_by_role("button", name="Copy nginx configuration").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert f"proxy_pass {authorize_url};" in copied
    assert copied.startswith("# app.example.com:")

    section.get_by_text("Caddy", exact=True).click()
    expect(section.locator("#protect-caddy")).to_contain_text(f"uri /api/v1/environments/{production.pk}/authorize/")
    page.screenshot(path="/tmp/wt10-protect-1280.png", full_page=True)

    # The long configuration lines scroll inside their blocks: the page itself fits a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/wt10-protect-390.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

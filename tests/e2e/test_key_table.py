"""The keys table in a real browser: search, sort and pages over 300 keys, long names at 1280 and 390 px,
the deactivate confirmation without JavaScript, and the table the README shows.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apikeys import services as key_services
from apikeys.models import ApiKey
from common.actor import SYSTEM, Actor
from environments import services as environment_services
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery-staple"
TEAMS = ["payments", "search", "billing", "backup", "monitoring"]
# The longest name a key may have (100 characters), with no space to break at, and a 120-character URL.
LONG_NAME = ("deploy-bot-payments-service-production-eu-west-1-" * 3)[:100]
LONG_URL = "https://runbooks.example.com/teams/payments/services/deploy-bot/production/eu-west-1/rotation-procedure?step=3&owner=ops"


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Environments")).to_be_visible()


def table_fits_its_column(page) -> bool:
    """Whether the keys table lies within the page's content column (not only within the window)."""
    return page.evaluate(
        """() => {
            const table = document.querySelector("table.keys").getBoundingClientRect();
            const column = document.querySelector("main, .page");
            const style = getComputedStyle(column);
            const right = column.getBoundingClientRect().right - parseFloat(style.paddingRight);
            return table.right <= right + 1;
        }"""
    )


def names_shown(page) -> list[str]:
    return page.locator("tr.key-row .key-name").all_text_contents()


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("olivia", password=PASSWORD)


@pytest.fixture
def production(owner):
    return environment_services.create_environment(name="production", description="Live systems", owner=owner)


@pytest.fixture
def three_hundred_keys(production):
    """300 keys of five teams; key i was created i hours ago and last used i minutes ago (every third never)."""
    now = timezone.now()
    keys = []
    for number in range(300):
        team = TEAMS[number % len(TEAMS)]
        key, _ = key_services.create_api_key(
            environment=production,
            name=f"{team}-{number:03d}",
            description=f"Used by the {team} team" + (" via vault" if number == 137 else ""),
            expires_at=now + datetime.timedelta(days=number + 1) if number % 2 else None,
        )
        keys.append(key)
    for number, key in enumerate(keys):
        ApiKey.objects.filter(pk=key.pk).update(
            created_at=now - datetime.timedelta(hours=number),
            last_used_at=None if number % 3 == 0 else now - datetime.timedelta(minutes=number),
        )
    return keys


def test_search_sort_and_pages_over_300_keys_live_in_the_url(page, owner, production, three_hundred_keys, shoot):
    sign_in(page, "olivia")
    page.goto(f"/environments/{production.pk}/api/")
    rows = page.locator("tr.key-row")
    expect(rows).to_have_count(50)
    expect(page.locator("#key-count")).to_have_text("Keys 1–50 of 300.")
    assert names_shown(page)[:2] == ["payments-000", "search-001"]  # newest first

    # Sort by name with the column header; a second click reverses it.
    page.locator("th").get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"\?sort=name$"))
    expect(page.locator("th[aria-sort=ascending] a")).to_have_text("Name")
    assert names_shown(page)[:3] == ["backup-003", "backup-008", "backup-013"]
    page.locator("th").get_by_role("link", name="Name").click()
    expect(page).to_have_url(re.compile(r"\?sort=-name$"))
    expect(rows.first.locator(".key-name")).to_have_text("search-296")

    # Sort by last use: the most recent first, keys never used at the end.
    page.locator("th").get_by_role("link", name="Last used").click()
    expect(page).to_have_url(re.compile(r"\?sort=-last_used$"))
    expect(rows.first.locator(".key-name")).to_have_text("search-001")
    expect(rows.first.locator(".key-last-used")).to_have_text("1 minute ago")
    # The exact time, with its time zone, is on hover.
    title = rows.first.locator(".key-last-used time").get_attribute("title")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", title), title

    # Sort by expiry with the form's select: the key expiring soonest first, flagged.
    page.get_by_label("Sort by").select_option(label="Expiring soonest")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?q=&sort=expires$"))  # a plain GET form sends the empty search
    expect(rows.first.locator(".key-name")).to_have_text("search-001")
    expect(rows.first.locator(".key-expires")).to_contain_text("in 1 day")
    expect(rows.first.locator(".badge-expiring")).to_have_text("Expires soon")
    expect(page.locator("tr.key-expiring")).to_have_count(3)  # the keys made to expire in 2, 4 and 6 days

    # Pages: Next, the last page, and a page past the end shows the last one.
    page.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"\?sort=expires&page=2$"))
    expect(page.locator("#key-count")).to_have_text("Keys 51–100 of 300.")
    page.locator(".pagination").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "key-table-300-keys-page-2-1280.png")
    page.get_by_role("link", name="Page 6").click()
    expect(page.locator("#key-count")).to_have_text("Keys 251–300 of 300.")
    expect(page.get_by_role("link", name="Next")).to_have_count(0)
    page.goto(f"/environments/{production.pk}/api/?sort=expires&page=99")
    expect(page.locator("#key-count")).to_have_text("Keys 251–300 of 300.")

    # Search by description, with a filter kept: one key; by part of an access key, in lower case.
    page.goto(f"/environments/{production.pk}/api/?state=active")
    page.get_by_label("Search keys").fill("VAULT")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"\?state=active&q=VAULT&sort=-created$"))
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".key-name")).to_have_text("billing-137")
    access_key = three_hundred_keys[42].access_key
    page.get_by_label("Search keys").fill(access_key[2:12].lower())
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".access-key")).to_have_text(access_key)
    page.get_by_label("Search keys").fill("backup")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#key-count")).to_have_text("Keys 1–50 of 60 matching “backup”, active only.")
    assert all(name.startswith("backup-") for name in names_shown(page))

    # The Expired filter keeps the search; nothing matches, and the empty state says so.
    page.get_by_role("link", name="Expired").click()
    expect(page).to_have_url(re.compile(r"\?state=expired&q=backup$"))
    expect(page.locator(".empty")).to_have_text(
        "No expired API keys in production match “backup”. Clear the search or show all keys."
    )
    shoot(page, "key-table-empty-search")

    # Back walks through what was shown.
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?state=active&q=backup&sort=-created$"))
    expect(page.locator("#key-count")).to_contain_text("of 60")
    page.go_back()
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".access-key")).to_have_text(access_key)


@pytest.mark.parametrize("viewport", [pytest.param(DESKTOP, id="1280"), pytest.param(PHONE, id="390")])
def test_long_names_and_urls_never_push_the_actions_menu_off_screen(page, owner, production, viewport, shoot):
    key_services.create_api_key(
        environment=production,
        name="deploy-bot-payments-service-production-eu-west-1",
        description=f"Runbook: {LONG_URL}",
    )
    longest, _ = key_services.create_api_key(environment=production, name=LONG_NAME, description=LONG_URL)
    key_services.create_api_key(environment=production, name="a" * 100, description="x" * 1000)
    assert len(LONG_NAME) == 100 and len(LONG_URL) == 120
    sign_in(page, "olivia")
    page.set_viewport_size(viewport)
    page.goto(f"/environments/{production.pk}/api/")

    width = viewport["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for summary in page.locator("tr.key-row summary").all():
        box = summary.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    # The whole name is on the page, wrapped, not cut off.
    row = page.locator(f"#key-{longest.pk}")
    expect(row.locator(".key-name")).to_have_text(LONG_NAME)

    # A long description is cut to three lines; the full text is its title, and it opens on focus.
    description = row.locator(".key-description")
    assert description.get_attribute("title") == LONG_URL
    shown = description.bounding_box()["height"]
    description.focus()
    expect(description).to_be_focused()
    long_one = page.locator("tr.key-row", has_text="a" * 100).locator(".key-description")
    clamped = long_one.bounding_box()["height"]
    long_one.focus()
    assert long_one.bounding_box()["height"] > clamped >= shown
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, f"key-table-long-names-{width}")


def test_deactivating_asks_first_naming_the_key_and_works_from_the_keyboard_without_javascript(
    browser, live_server, owner, production, shoot
):
    key, _ = key_services.create_api_key(environment=production, name="ci-deploy", description="Deploys from CI")
    other, _ = key_services.create_api_key(environment=production, name="monitoring")
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "olivia")
        page.goto(f"/environments/{production.pk}/api/?state=active&q=ci")
        row = page.locator(f"#key-{key.pk}")

        # Cancel first: nothing changes, and we are back on the filtered list.
        row.locator("summary").click()
        row.get_by_role("link", name="Deactivate…").click()
        expect(page.get_by_role("heading", name="Deactivate API key ci-deploy?")).to_be_visible()
        expect(page.locator("main")).to_contain_text(key.access_key)
        expect(page.locator("main")).to_contain_text("stops working from the next request on")
        shoot(page, "key-deactivate-confirm")
        page.get_by_role("link", name="Cancel").click()
        expect(page).to_have_url(re.compile(r"\?state=active&q=ci$"))
        key.refresh_from_db()
        assert key.state == "active"

        # Now from the keyboard: Enter opens the menu, Tab reaches "Deactivate…", Enter, Tab to the
        # confirm button, Enter.
        row.locator("summary").focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(row.get_by_role("link", name="Deactivate…")).to_be_focused()
        page.keyboard.press("Enter")
        confirm = page.get_by_role("button", name="Deactivate key")
        expect(confirm).to_be_visible()
        confirm.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"\?state=active&q=ci$"))
        expect(page.locator(".messages")).to_have_text(
            f"API key “ci-deploy” ({key.access_key}) deactivated: it can no longer be used."
        )
        key.refresh_from_db()
        other.refresh_from_db()
        assert (key.state, other.state) == ("inactive", "active")
        expect(page.locator(f"#key-{key.pk}")).to_have_count(0)  # the Active filter hides it now
    finally:
        context.close()


def test_the_readme_table(page, owner, production, shoot):
    """The API page the README shows: every state, relative times, expiry flagged, a long description."""
    now = timezone.now()
    environment_services.create_environment(name="staging", description="Pre-release checks", owner=owner)
    specs = [
        ("ci-deploy", "Deploys from GitHub Actions", dict(minutes=42), dict(days=3, hours=5)),
        ("monitoring", "Uptime checks from Prometheus", dict(minutes=1), None),
        ("backup-nightly", "Nightly database dump to S3", dict(hours=20), dict(days=80)),
        (
            "deploy-bot-payments-service-production-eu-west-1",
            f"Payments deploy bot. Runbook: {LONG_URL}",
            dict(days=3),
            dict(days=29),
        ),
        ("terraform", "Infrastructure changes", dict(days=12), dict(days=-2)),
        ("old-laptop", "Replaced in May", dict(days=190), None),
    ]
    for name, description, used_ago, expires_in in specs:
        key, _ = key_services.create_api_key(
            environment=production,
            name=name,
            description=description,
            expires_at=now + datetime.timedelta(days=1) if expires_in else None,
            # Added by olivia on the dashboard, but for one a script added with a key (no person).
            actor=SYSTEM if name == "monitoring" else Actor(owner),
        )
        ApiKey.objects.filter(pk=key.pk).update(
            last_used_at=now - datetime.timedelta(**used_ago),
            expires_at=now + datetime.timedelta(**expires_in) if expires_in else None,
        )
        if name == "old-laptop":
            key_services.deactivate_api_key(key=key)
    sign_in(page, "olivia")
    expect(page.locator("tr", has_text="production")).to_contain_text("1 expiring within 7 days")
    shoot(page, "environments-list-expiring")
    page.goto(f"/environments/{production.pk}/api/")
    expect(page.locator("tr.key-expiring")).to_have_count(1)
    expect(page.locator("tr.key-expiring .key-expires")).to_contain_text("in 3 days")
    expect(page.locator("tr.key-expired .key-expires")).to_contain_text("expired 2 days ago")
    expect(page.locator("tr.key-row .key-created-by")).to_have_count(5)
    assert table_fits_its_column(page)
    shoot(page, "key-table")


@pytest.mark.parametrize("width", [1280, 1024, 900, 800])
def test_a_page_of_long_unbroken_names_by_a_long_named_creator_fits_desktop_and_tablet_widths(
    page, owner, production, django_user_model, shoot, width
):
    # The names and descriptions people paste, on a later page and created by a person whose
    # username (150 characters at most) has no space either.
    creator = django_user_model.objects.create_user("platform-automation-service-account-" * 4, password=PASSWORD)
    environment_services.add_member(environment=production, username=creator.username, role="owner")
    for number in range(55):
        key_services.create_api_key(
            environment=production,
            name=f"{number:02d}-" + "x" * 97,
            description=LONG_URL + "/" + "y" * 200,
            actor=Actor(creator),
        )
    sign_in(page, "olivia")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/environments/{production.pk}/api/?page=2")
    expect(page.locator("#key-count")).to_contain_text("of 55")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert table_fits_its_column(page)
    for summary in page.locator("tr.key-row summary").all():
        box = summary.bounding_box()
        assert box["x"] + box["width"] <= width, box
    # The creator's long username is cut to one line, whole in its title, beside the Created label
    # on a card as well as under the date in the table.
    created_by = page.locator("tr.key-row .key-created-by span").first
    assert created_by.get_attribute("title") == creator.username
    assert created_by.bounding_box()["height"] < 30
    created = page.locator("tr.key-row td.key-created").first
    assert abs(created.locator("time").bounding_box()["x"] - created_by.bounding_box()["x"]) < 60
    shoot(page, f"key-table-long-names-page-2-{width}")


def test_the_audit_log_of_long_unbroken_names_and_descriptions_fits_a_desktop_screen(page, owner, production, shoot):
    key, _ = key_services.create_api_key(
        environment=production, name="n" * 100, description="d" * 1000, actor=Actor(owner)
    )
    key_services.update_api_key(key=key, name="m" * 100, description=LONG_URL + "e" * 500, actor=Actor(owner))
    environment_services.update_environment(
        environment=production, name="p" * 100, description="q" * 1000, actor=Actor(owner)
    )
    sign_in(page, "olivia")
    page.goto(f"/environments/{production.pk}/events/")
    expect(page.locator("table.events")).to_contain_text("m" * 100)

    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "audit-log-long-names")

"""The Members tab in a real browser: long usernames and group names, its two forms, group-only members."""

import pytest
from playwright.sync_api import expect

from environments import services as environment_services
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_key_table import PASSWORD, sign_in

pytestmark = pytest.mark.browser

LONG_USERNAME = ("platform-automation-service-account-" * 5)[:150]
LONG_GROUP = ("cn=payments-platform-engineering-production-eu-west-1," * 5)[:255]


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("olivia", password=PASSWORD)


@pytest.fixture
def production(owner):
    return environment_services.create_environment(name="production", description="Live systems", owner=owner)


def test_long_usernames_and_group_names_and_their_messages_fit_the_screen(page, production, django_user_model, shoot):
    django_user_model.objects.create_user(LONG_USERNAME, password=PASSWORD)
    environment_services.add_member(environment=production, username=LONG_USERNAME, role="member")
    sign_in(page, "olivia")
    page.goto(f"/environments/{production.pk}/members/")

    # Mapped through the form, so that the page also shows the message naming the group.
    page.get_by_label("Group", exact=True).fill(LONG_GROUP)
    page.get_by_role("button", name="Map group").click()
    expect(page.locator(".messages")).to_contain_text("at their next sign-in")
    expect(page.locator("table.group-mappings")).to_contain_text(LONG_GROUP)

    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], viewport
    shoot(page, "members-long-names")


def test_each_form_labels_its_own_role_choice(page, production, django_user_model):
    django_user_model.objects.create_user("bob", password=PASSWORD)
    sign_in(page, "olivia")
    page.goto(f"/environments/{production.pk}/members/")

    add_member = page.locator("form", has=page.get_by_role("button", name="Add member"))
    add_member.get_by_label("Username").fill("bob")
    add_member.get_by_label("Role").select_option("read-only")
    add_member.get_by_role("button", name="Add member").click()

    expect(page.locator("tr", has_text="bob")).to_contain_text("Direct: Read-only")
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(element => element.id)")
    assert len(ids) == len(set(ids)), sorted(ids)


def test_a_member_only_through_groups_is_not_offered_a_remove_that_would_do_nothing(
    page, production, django_user_model
):
    grace = django_user_model.objects.create_user("grace", password=PASSWORD)
    environment_services.add_group_mapping(environment=production, group="platform", role="member")
    environment_services.sync_group_roles(user=grace, groups=["platform"])
    sign_in(page, "olivia")
    page.goto(f"/environments/{production.pk}/members/")

    row = page.locator("tr", has_text="grace")
    expect(row).to_contain_text("From groups (platform): Member")
    row.get_by_text("Actions").click()
    expect(row.get_by_role("link", name="Remove…")).to_have_count(0)

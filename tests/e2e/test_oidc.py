"""OpenID Connect sign-in in Chromium against a real provider process (django-oauth-toolkit on loopback)."""

import pytest
from django.core.cache import cache

from common.audit.models import AuditAction, AuditEvent
from environments import services
from environments.models import Membership, Role
from tests.support.oidc import CLIENT_ID, GROUP, PASSWORD, USERNAME, start_provider

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LABEL = "Test Provider"


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    server = start_provider(tmp_path_factory.mktemp("oidc"), redirect_uri=f"{live_server.url}/oidc/callback/")
    yield server
    server.stop()


def configure(settings, provider) -> None:
    """Point envkeys at the provider, as the OIDC_* variables in config/settings.py do."""
    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_BUTTON_LABEL = LABEL
    settings.OIDC_TIMEOUT = 5
    settings.AUTHENTICATION_BACKENDS = [
        "environments.oidc.GroupsOIDCBackend",
        "environments.backends.ThrottledModelBackend",
    ]
    cache.clear()  # no discovery document kept from an earlier test


@pytest.fixture
def production(transactional_db):
    environment = services.create_environment(name="production")
    services.add_group_mapping(environment=environment, group=GROUP, role=Role.MEMBER)
    return environment


def sign_in_with_provider(page, base_url: str, *, first_time: bool) -> None:
    """Go from envkeys' sign-in page through the provider's sign-in and consent, and back."""
    page.goto("/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {LABEL}").click()
    if first_time:
        page.wait_for_url(lambda url: not url.startswith(base_url) and "/accounts/login/" in url)
        page.fill("input[name=username]", USERNAME)
        page.fill("input[name=password]", PASSWORD)
        page.click("#provider-sign-in")
    # The consent page: the provider asks every time (approval prompt "force").
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(lambda url: url.startswith(base_url) and "/oidc/" not in url and "/accounts/" not in url)


def role_in(environment) -> str | None:
    membership = Membership.objects.filter(environment=environment, user__username=USERNAME).first()
    return membership.role if membership else None


def test_signing_in_through_the_provider_gives_the_mapped_role_and_leaving_the_group_takes_it(
    page, settings, provider, production, live_server, shoot
):
    configure(settings, provider)

    sign_in_with_provider(page, live_server.url, first_time=True)

    assert page.url.startswith(live_server.url)
    assert page.get_by_role("link", name="production").count() >= 1
    assert role_in(production) == Role.MEMBER
    signin = AuditEvent.objects.get(action=AuditAction.PROVIDER_SIGNIN)
    assert (signin.target, signin.actor_name, signin.changes) == ("oidc", USERNAME, {"groups": [None, [GROUP]]})
    shoot(page, "oidc-signed-in")

    provider.run("leave", USERNAME, GROUP)
    try:
        page.goto("/")
        page.locator(".user-menu summary").click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/accounts/login/")
        sign_in_with_provider(page, live_server.url, first_time=False)
    finally:
        provider.run("join", USERNAME, GROUP)

    assert role_in(production) is None
    assert AuditEvent.objects.filter(action=AuditAction.GROUP_ROLE_CHANGED, target=USERNAME).count() == 2
    assert "production" not in page.content()


def test_a_stopped_provider_is_named_on_the_sign_in_page_and_the_superuser_still_signs_in(
    page, settings, live_server, tmp_path, production, django_user_model, shoot
):
    down = start_provider(tmp_path / "down", redirect_uri=f"{live_server.url}/oidc/callback/")
    configure(settings, down)
    down.stop()
    django_user_model.objects.create_superuser(username="root", password="break-glass-password")

    page.goto("/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {LABEL}").click()

    assert page.url == f"{live_server.url}/accounts/login/"
    assert f"{LABEL} cannot be reached right now, so only local accounts can sign in." in page.content()
    shoot(page, "oidc-provider-down")

    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "break-glass-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    assert page.get_by_role("link", name="production").count() >= 1


def test_the_provider_never_signs_in_as_a_local_account_with_a_password(
    page, settings, provider, production, live_server, django_user_model
):
    configure(settings, provider)
    django_user_model.objects.create_user(username=USERNAME, password="a-local-password")

    page.goto("/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {LABEL}").click()
    page.wait_for_url(lambda url: not url.startswith(live_server.url) and "/accounts/login/" in url)
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("#provider-sign-in")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")

    assert f"Signing in with {LABEL} did not complete. Try again." in page.content()
    assert role_in(production) is None
    assert not AuditEvent.objects.filter(action=AuditAction.PROVIDER_SIGNIN).exists()

"""OpenID Connect sign-in wiring: settings, the sign-in button, and failures that end on the sign-in page."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def configured(settings):
    settings.OIDC_ISSUER = "http://127.0.0.1:9/o"  # discard port: nothing answers there
    settings.OIDC_RP_CLIENT_ID = "envkeys"
    settings.OIDC_RP_CLIENT_SECRET = "not-a-real-secret"
    settings.OIDC_BUTTON_LABEL = "Keycloak"
    settings.OIDC_TIMEOUT = 2
    settings.AUTHENTICATION_BACKENDS = [
        "environments.oidc.GroupsOIDCBackend",
        "environments.backends.ThrottledModelBackend",
    ]
    cache.clear()
    return settings


def test_without_an_issuer_there_is_no_button_and_no_oidc_route(client):
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_with_an_issuer_the_sign_in_page_offers_the_provider(client, configured):
    html = client.get("/accounts/login/?next=/environments/").content.decode()
    assert 'href="/oidc/authenticate/?next=/environments/"' in html
    assert "Sign in with Keycloak" in html


def test_an_unreachable_provider_sends_back_to_the_sign_in_page_saying_so(client, configured):
    response = client.get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "Keycloak cannot be reached right now, so only local accounts can sign in." in response.content.decode()


def test_a_callback_with_an_unknown_state_is_refused_on_the_sign_in_page_not_a_500(client, configured):
    session = client.session
    session["oidc_states"] = {"known": {"nonce": "n", "code_verifier": "v"}}
    session.save()
    response = client.get("/oidc/callback/?code=abc&state=forged", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/accounts/login/", 302)]
    assert "Signing in with Keycloak did not complete. Try again." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_password_sign_in_works_while_the_provider_is_unreachable(client, configured, superuser):
    response = client.post("/accounts/login/", {"username": "root", "password": "rootroot"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_the_oidc_variables_configure_the_backend_and_pkce(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "settings-check",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "OIDC_ISSUER": "https://keycloak.example/realms/ops",
        "OIDC_CLIENT_ID": "envkeys",
        "OIDC_CLIENT_SECRET": "s3cret",
        "OIDC_USERNAME_CLAIM": "email",
        "OIDC_BUTTON_LABEL": "Keycloak",
    }
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.AUTHENTICATION_BACKENDS[0], s.OIDC_USE_PKCE, s.OIDC_RP_CLIENT_ID, s.OIDC_USERNAME_CLAIM,"
        " s.OIDC_GROUPS_CLAIM, s.OIDC_RP_SIGN_ALGO)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "environments.oidc.GroupsOIDCBackend",
        "True",
        "envkeys",
        "email",
        "groups",
        "RS256",
    ]

"""The documented production settings (production.env.example) pass `manage.py check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

from django.conf import settings

EXAMPLE = settings.BASE_DIR / "production.env.example"

SHOW_SETTINGS = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "ENGINE": db["ENGINE"],
    "connect_timeout": db["OPTIONS"].get("connect_timeout"),
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
}))
"""


def documented_environment() -> dict[str, str]:
    """Return the variables of production.env.example, with a freshly generated SECRET_KEY."""
    variables = {}
    for line in EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            variables[name.strip()] = value.strip()
    assert variables["SECRET_KEY"] == "", "the example must not ship a usable SECRET_KEY"
    variables["SECRET_KEY"] = secrets.token_urlsafe(50)
    return variables


def run_django(args: list[str], variables: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a Python command in a fresh process with only these variables (plus PATH and the like)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
    env.update(variables, DJANGO_SETTINGS_MODULE="config.settings", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_no_issues_with_the_documented_production_settings():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], documented_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_flags_the_development_defaults():
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"SECRET_KEY": secrets.token_urlsafe(50)}
    )

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr + result.stdout


def test_documented_production_settings_are_read_with_their_types():
    result = run_django(["-c", f"import django; django.setup(); {SHOW_SETTINGS}"], documented_environment())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["envkeys.example.com"],
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "ENGINE": "common.postgresql",
        "connect_timeout": 5,
        "CACHE_BACKEND": "django.core.cache.backends.redis.RedisCache",
    }


def test_server_refuses_to_start_without_a_secret_key_when_debug_is_off():
    variables = {**documented_environment(), "SECRET_KEY": ""}

    result = run_django(["manage.py", "check"], variables)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_cache_url_options_reach_djangos_own_redis_backend():
    variables = {
        **documented_environment(),
        "CACHE_URL": "redis://cache.internal:6379/2?key_prefix=envkeys&socket_timeout=1",
    }
    show_cache = "import json; from django.conf import settings; print(json.dumps(settings.CACHES['default']))"

    result = run_django(["-c", f"import django; django.setup(); {show_cache}"], variables)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
        "KEY_PREFIX": "envkeys",
        "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 1},
    }

"""Management commands for environments and bootstrap: createenvironment, initadmin, check."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from environments.models import Environment, Role

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_createenvironment_creates_it_and_prints_its_endpoint():
    out, _ = run("createenvironment", "qa", "--description", "Testing")

    environment = Environment.objects.get(name="qa")
    assert environment.description == "Testing"
    assert not environment.memberships.exists()
    assert out == (
        f"Created environment qa (id {environment.pk})\n"
        f"Endpoint: http://testserver/api/v1/environments/{environment.pk}/\n"
    )


def test_createenvironment_with_an_owner_makes_them_owner(outsider):
    run("createenvironment", "qa", "--owner", "oscar")

    assert list(Environment.objects.get(name="qa").memberships.values_list("user__username", "role")) == [
        ("oscar", Role.OWNER)
    ]


def test_createenvironment_refuses_an_unknown_owner():
    with pytest.raises(CommandError, match="There is no user named 'ghost'."):
        run("createenvironment", "qa", "--owner", "ghost")

    assert not Environment.objects.exists()


def test_createenvironment_refuses_a_taken_name(environment):
    with pytest.raises(CommandError, match="An environment named 'production' already exists."):
        run("createenvironment", "production")


def test_initadmin_creates_one_superuser_once_and_prints_the_password_once():
    out, _ = run("initadmin")

    password = re.search(r"^  password: (\S+)$", out, re.MULTILINE).group(1)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert len(password) >= 20

    again, _ = run("initadmin")
    assert again == "An admin account exists already; nothing to do.\n"
    assert password not in again
    assert get_user_model().objects.count() == 1
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_initadmin_takes_another_username():
    run("initadmin", "--username", "boss")

    assert get_user_model().objects.get(is_superuser=True).username == "boss"


def test_check_warns_when_access_control_is_off(settings):
    settings.ACCESS_CONTROL = False

    _, err = run("check")

    assert "(envkeys.W001) Access control is not configured" in err


def test_check_is_quiet_when_access_control_is_on():
    out, err = run("check")

    assert "envkeys.W001" not in out + err
    assert "no issues" in out


def test_manage_py_check_reads_access_control_false_from_the_environment(tmp_path):
    root = Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "test-only",
        "ACCESS_CONTROL": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=environment, capture_output=True, text=True, check=True
    )

    assert "(envkeys.W001) Access control is not configured" in result.stderr

"""Management commands for keys: createapikey, activateapikey, deactivateapikey."""

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from apikeys import crypto, services
from apikeys.models import ApiKey, Permission, State

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("by", ["name", "id"])
def test_createapikey_prints_the_pair_and_the_endpoint(environment, by):
    out, err = run("createapikey", "--environment", environment.name if by == "name" else str(environment.pk))

    key = ApiKey.objects.get(environment=environment)
    secret = re.search(r"^Secret key \(password\): (\S+)$", out, re.MULTILINE).group(1)
    assert f"Access key (username): {key.access_key}\n" in out
    assert f"Endpoint:              http://testserver/api/v1/environments/{environment.pk}/\n" in out
    assert crypto.verify_secret(secret, key.secret_hash)
    assert "cannot be shown again" in err
    assert (key.state, key.permission) == (State.ACTIVE, Permission.READ_WRITE)


def test_createapikey_json_is_one_object_with_the_pair_and_the_endpoint(environment):
    out, _ = run("createapikey", "--environment", "production", "--name", "ci", "--description", "builds", "--json")

    body = json.loads(out)
    key = ApiKey.objects.get(pk=body["id"])
    assert body["access_key"] == key.access_key
    assert crypto.verify_secret(body["secret_key"], key.secret_hash)
    assert body["environment_id"] == environment.pk
    assert body["endpoint"] == f"http://testserver/api/v1/environments/{environment.pk}/"
    assert (key.name, key.description) == ("ci", "builds")


def test_createapikey_read_only_makes_a_read_only_key(environment):
    body = json.loads(run("createapikey", "--environment", "production", "--read-only", "--json")[0])

    assert body["permission"] == "read-only"
    assert ApiKey.objects.get(pk=body["id"]).permission == Permission.READ_ONLY


def test_createapikey_refuses_an_unknown_environment(environment):
    with pytest.raises(CommandError, match="There is no environment 'nope'."):
        run("createapikey", "--environment", "nope")

    assert not ApiKey.objects.exists()


def test_deactivateapikey_and_activateapikey_change_the_state(key_pair):
    key, _ = key_pair

    out, _ = run("deactivateapikey", key.access_key)
    key.refresh_from_db()
    assert (out, key.state) == (f"Deactivated {key.access_key}\n", State.INACTIVE)

    out, _ = run("activateapikey", key.access_key)
    key.refresh_from_db()
    assert (out, key.state) == (f"Activated {key.access_key}\n", State.ACTIVE)


def test_a_state_command_that_does_not_apply_fails_with_the_reason(key_pair):
    key, _ = key_pair

    with pytest.raises(CommandError, match="This API key is already active."):
        run("activateapikey", key.access_key)

    services.deactivate_api_key(key=key)
    with pytest.raises(CommandError, match="This API key is already inactive."):
        run("deactivateapikey", key.access_key)


@pytest.mark.parametrize("command", ["activateapikey", "deactivateapikey"])
def test_a_state_command_refuses_an_unknown_access_key(db, command):
    with pytest.raises(CommandError, match="There is no API key 'EKNOSUCHKEY000000000'."):
        run(command, "EKNOSUCHKEY000000000")

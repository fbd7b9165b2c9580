"""Sign-in through a real OpenLDAP (slapd started by the test): roles from groups, limits, the directory down."""

import subprocess
import sys
import types
from pathlib import Path

import ldap
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_auth_ldap.config import GroupOfNamesType, LDAPSearch

from common.audit.models import AuditAction, AuditEvent
from environments import services
from environments.ldap_backend import group_names
from environments.models import Membership, Role
from tests.support.ldap import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, USERS, start_slapd

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

THROTTLED = "Too many failed sign-ins; try again in 15 minutes."
GENERIC = "Please enter a correct username and password. Note that both fields may be case-sensitive."
ADDRESS = "192.0.2.44"


def settings_module_dir() -> Path:
    """Return the project directory (where ``config`` is importable)."""
    return Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def configure(settings, uri: str) -> None:
    """Point envkeys at the directory, as the LDAP_* variables in config/settings.py do."""
    settings.AUTH_LDAP_SERVER_URI = uri
    settings.AUTH_LDAP_BIND_DN = ROOT_DN
    settings.AUTH_LDAP_BIND_PASSWORD = ROOT_PASSWORD
    settings.AUTH_LDAP_USER_SEARCH = LDAPSearch(PEOPLE, ldap.SCOPE_SUBTREE, "(uid=%(user)s)")
    settings.AUTH_LDAP_GROUP_SEARCH = LDAPSearch(GROUPS, ldap.SCOPE_SUBTREE, "(objectClass=groupOfNames)")
    settings.AUTH_LDAP_GROUP_TYPE = GroupOfNamesType()
    settings.AUTH_LDAP_USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn", "email": "mail"}
    settings.AUTH_LDAP_CONNECTION_OPTIONS = {ldap.OPT_NETWORK_TIMEOUT: 2.0, ldap.OPT_TIMEOUT: 2.0}
    settings.LDAP_GROUP_TYPE = "groupOfNames"
    settings.AUTHENTICATION_BACKENDS = [
        "environments.ldap_backend.ThrottledLDAPBackend",
        "environments.backends.ThrottledModelBackend",
    ]


@pytest.fixture
def directory(settings, slapd):
    configure(settings, slapd.uri)
    settings.SIGNIN_FAILURE_RATE_PER_USERNAME = "3/15m"
    return slapd


@pytest.fixture
def mappings(environment, other_environment):
    services.add_group_mapping(environment=environment, group="ops", role=Role.MEMBER)
    services.add_group_mapping(environment=other_environment, group="auditors", role=Role.READ_ONLY)


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ADDRESS)


def signed_in_as(response) -> str | None:
    user_id = response.wsgi_request.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def roles_of(username) -> dict[str, str]:
    return {m.environment.name: m.role for m in Membership.objects.filter(user__username=username)}


def errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_a_directory_user_signs_in_and_gets_the_roles_of_their_groups(client, directory, mappings):
    response = sign_in(client, "alice", USERS["alice"])

    assert response.status_code == 302
    assert signed_in_as(response) == "alice"
    assert roles_of("alice") == {"production": Role.MEMBER, "staging": Role.READ_ONLY}
    alice = get_user_model().objects.get(username="alice")
    assert (alice.email, alice.first_name, alice.has_usable_password()) == ("alice@envkeys.test", "Alice", False)
    signin = AuditEvent.objects.get(action=AuditAction.PROVIDER_SIGNIN)
    assert (signin.target, signin.actor_name, signin.address) == ("ldap", "alice", ADDRESS)
    assert signin.changes == {"groups": [None, ["auditors", "ops"]]}
    assert client.get(reverse("apikeys:environment-list")).status_code == 200


def test_leaving_a_group_in_the_directory_takes_the_role_away_at_the_next_sign_in(client, directory, mappings):
    sign_in(client, "alice", USERS["alice"])
    member = f"dn: cn=auditors,{GROUPS}\nchangetype: modify\n%s: member\nmember: uid=alice,{PEOPLE}\n"
    directory.modify(member % "delete")
    try:
        client.post(reverse("logout"))
        response = sign_in(client, "alice", USERS["alice"])
    finally:
        directory.modify(member % "add")

    assert signed_in_as(response) == "alice"
    assert roles_of("alice") == {"production": Role.MEMBER}
    change = AuditEvent.objects.get(
        action=AuditAction.GROUP_ROLE_CHANGED, environment__name="staging", changes__role=["read-only", None]
    )
    assert change.actor_name == "alice"


def test_a_wrong_directory_password_gets_the_usual_error_and_counts_towards_the_limit(
    client, directory, mappings, clock
):
    clock.next_hour()
    answers = [sign_in(client, "bob", "not-bobs-password") for _ in range(3)]
    then = sign_in(client, "bob", USERS["bob"])

    # The third failure reaches the limit of 3: the form says so at once, as for local accounts.
    assert [errors(answer) for answer in answers] == [[GENERIC], [GENERIC], [THROTTLED]]
    assert then.status_code == 200
    assert errors(then) == [THROTTLED]
    assert signed_in_as(then) is None
    assert not Membership.objects.filter(user__username="bob").exists()


def test_a_person_in_no_mapped_group_signs_in_with_no_environment(client, directory, mappings):
    response = sign_in(client, "carol", USERS["carol"])
    assert signed_in_as(response) == "carol"
    assert roles_of("carol") == {}


def test_a_stopped_directory_is_named_on_the_sign_in_page_and_the_superuser_still_signs_in(
    client, settings, tmp_path, superuser, mappings
):
    down = start_slapd(tmp_path / "down")
    configure(settings, down.uri)
    down.stop()

    refused = sign_in(client, "alice", USERS["alice"])
    root = sign_in(client, "root", "rootroot")

    assert refused.status_code == 200
    assert errors(refused) == [
        "The LDAP directory cannot be reached right now, so only local accounts can sign in. "
        "Try again later, or tell your administrator."
    ]
    assert signed_in_as(refused) is None
    assert root.status_code == 302
    assert signed_in_as(root) == "root"


def test_memberof_group_names_are_the_cns_of_the_users_groups(settings):
    settings.LDAP_GROUP_TYPE = "memberOf"
    user = types.SimpleNamespace(
        attrs={"memberof": ["CN=Ops Team,OU=Groups,DC=corp,DC=example", "cn=auditors,ou=groups,dc=corp,dc=example"]}
    )
    assert group_names(user) == ["Ops Team", "auditors"]


def test_the_ldap_variables_configure_the_backend_and_its_searches(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "settings-check",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LDAP_SERVER_URI": "ldap://127.0.0.1:1/",
        "LDAP_BIND_DN": ROOT_DN,
        "LDAP_USER_SEARCH_BASE": PEOPLE,
        "LDAP_GROUP_SEARCH_BASE": GROUPS,
        "LDAP_START_TLS": "true",
    }
    script = (
        "from django.conf import settings as s;"
        "print(s.AUTHENTICATION_BACKENDS[0], s.AUTH_LDAP_START_TLS, s.AUTH_LDAP_USER_SEARCH.base_dn,"
        " s.AUTH_LDAP_USER_SEARCH.filterstr, s.AUTH_LDAP_GROUP_SEARCH.base_dn, type(s.AUTH_LDAP_GROUP_TYPE).__name__)"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup(); {script}",
        ],
        env=env,
        cwd=settings_module_dir(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "environments.ldap_backend.ThrottledLDAPBackend",
        "True",
        PEOPLE,
        "(uid=%(user)s)",
        GROUPS,
        "GroupOfNamesType",
    ]


def test_with_local_accounts_off_directory_users_still_sign_in(client, directory, mappings, settings):
    settings.LOCAL_ACCOUNTS = False
    response = sign_in(client, "alice", USERS["alice"])
    assert signed_in_as(response) == "alice"
    assert roles_of("alice") == {"production": Role.MEMBER, "staging": Role.READ_ONLY}


def test_the_directory_never_signs_in_as_a_local_account_with_a_password(client, directory, mappings, make_user):
    make_user("carol", is_superuser=True)  # a local account whose name the directory also has
    response = sign_in(client, "carol", USERS["carol"])
    assert signed_in_as(response) is None
    assert errors(response) == [GENERIC]
    assert not AuditEvent.objects.filter(action=AuditAction.PROVIDER_SIGNIN).exists()

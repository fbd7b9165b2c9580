"""Fuzz the whole API from its own OpenAPI schema (schemathesis): no 5xx, every answer as documented.

Run alone with ``pytest -m fuzz``. Bounded and deterministic: a fixed number of examples per
operation, derandomized, so CI sees the same requests on every run.

Requests go straight into the WSGI app. Most path ids are pointed at real objects (an id that
the generator made 2 more than a multiple of 3 is left as it is, so unknown ids are fuzzed too). Keys and the
environment are driven by the environment's read-write key; members and creating environments,
which keys may not touch, by the environment's owner, signed in.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from environments.models import Membership
from tests.support.auth import basic_auth

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CSRF_SECRET = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # any 32 letters: cookie and header must agree

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, with_security_parameters=False)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Keep the test's database connection open across requests, as Django's test client does.

    The WSGI handler closes connections at the end of each request; inside the test's
    transaction that would drop the connection (a real server's requests are not in one).
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(environment, key_pair, owner, member):
    """The objects the fuzzer's ids point at, and the credentials of the key and of the owner."""
    key, secret = key_pair
    browser = Client()
    browser.force_login(owner)
    return {
        "environment": environment.pk,
        "apikeys": key.pk,
        "members": Membership.objects.get(environment=environment, user=member).pk,
        "key": {"headers": {"Authorization": basic_auth(key.access_key, secret)}},
        "owner": {
            "headers": {"X-CSRFToken": CSRF_SECRET},
            "cookies": {"sessionid": browser.cookies["sessionid"].value, "csrftoken": CSRF_SECRET},
        },
    }


def point_at_real_objects(case, world) -> None:
    """Replace most generated ids in the path with the ids of real objects."""
    for name, value in case.path_parameters.items():
        if not str(value).isdigit() or int(value) % 3 == 2:
            continue
        if name == "environment_pk" or case.path.startswith("/api/v1/environments/{id}"):
            case.path_parameters[name] = world["environment"]
        else:
            kind = "apikeys" if "/apikeys/" in case.path else "members"
            case.path_parameters[name] = world[kind]


def acts_as_owner(case) -> bool:
    return "/members/" in case.path or (case.method == "POST" and case.path == "/api/v1/environments/")


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_every_generated_request_gets_a_documented_answer(case, world):
    point_at_real_objects(case, world)
    credentials = world["owner"] if acts_as_owner(case) else world["key"]
    case.call_and_validate(checks=CHECKS, **credentials)

"""Forward authentication: the decision rule, and the authorize endpoints that reverse proxies ask."""

import datetime
import email.header

import pytest
from django.utils import timezone

from apikeys import forward_auth, services
from apikeys.authentication import ApiKeyUser
from apikeys.models import Permission
from common.audit.models import AuditAction, AuditEvent
from common.errors import DomainError
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db

IDENTITY = ("X-Envkeys-Environment-Id", "X-Envkeys-Environment", "X-Envkeys-Access-Key", "X-Envkeys-Permission")


def authorize_url(environment=None) -> str:
    return f"/api/v1/environments/{environment.pk}/authorize/" if environment else "/api/v1/authorize/"


def ask(api_client, url, key_pair=None, *, method="get", **headers):
    if key_pair is not None:
        key, secret = key_pair
        headers["HTTP_AUTHORIZATION"] = basic_auth(key.access_key, secret)
    return (
        getattr(api_client, method)(url, **headers)
        if method != "propfind"
        else api_client.generic("PROPFIND", url, **headers)
    )


# --- The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"])
def test_a_read_write_key_may_send_any_method_to_its_environment(key_pair, method):
    key, _ = key_pair

    grant = forward_auth.decide(actor=ApiKeyUser(key), environment_id=key.environment_id, method=method)

    assert grant.key == key


@pytest.mark.parametrize(
    ("method", "allowed"),
    [
        pytest.param("GET", True, id="GET"),
        pytest.param("HEAD", True, id="HEAD"),
        pytest.param("OPTIONS", True, id="OPTIONS"),
        pytest.param("POST", False, id="POST"),
        pytest.param("PUT", False, id="PUT"),
        pytest.param("PATCH", False, id="PATCH"),
        pytest.param("DELETE", False, id="DELETE"),
        pytest.param("PROPFIND", False, id="PROPFIND"),
    ],
)
def test_a_read_only_key_may_only_read(environment, make_key, method, allowed):
    key, _ = make_key(environment, permission=Permission.READ_ONLY)

    if allowed:
        assert forward_auth.decide(actor=ApiKeyUser(key), environment_id=environment.pk, method=method).key == key
    else:
        with pytest.raises(DomainError) as refused:
            forward_auth.decide(actor=ApiKeyUser(key), environment_id=environment.pk, method=method)
        assert refused.value.code == "permission_denied"


def test_a_key_of_another_environment_is_refused_with_wrong_environment(key_pair, other_environment):
    key, _ = key_pair

    with pytest.raises(DomainError) as refused:
        forward_auth.decide(actor=ApiKeyUser(key), environment_id=other_environment.pk, method="GET")

    assert refused.value.code == "wrong_environment"


def test_without_an_environment_any_usable_key_passes(key_pair, other_environment, make_key):
    other_key, _ = make_key(other_environment)

    for key in (key_pair[0], other_key):
        assert forward_auth.decide(actor=ApiKeyUser(key), environment_id=None, method="GET").key == key


def test_with_access_control_off_everyone_passes(settings, environment):
    settings.ACCESS_CONTROL = False

    grant = forward_auth.decide(actor=None, environment_id=environment.pk, method="DELETE")

    assert grant.key is None
    assert forward_auth.identity_headers(grant) == {
        "X-Envkeys-Environment-Id": "",
        "X-Envkeys-Environment": "",
        "X-Envkeys-Access-Key": "",
        "X-Envkeys-Permission": "",
        "X-Envkeys-Access-Control": "off",
    }


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        pytest.param(
            {
                "HTTP_X_FORWARDED_METHOD": "post",
                "HTTP_X_FORWARDED_URI": "/deploy?token=abc",
                "HTTP_X_FORWARDED_HOST": "app.example.com",
                "HTTP_X_FORWARDED_PROTO": "https",
            },
            ("POST", "https://app.example.com", "/deploy"),
            id="caddy-traefik",
        ),
        pytest.param(
            {
                "HTTP_X_ORIGINAL_METHOD": "DELETE",
                "HTTP_X_ORIGINAL_URI": "/items/3",
                "HTTP_X_FORWARDED_HOST": "app.example.com",
            },
            ("DELETE", "http://app.example.com", "/items/3"),
            id="nginx",
        ),
        pytest.param({}, ("GET", "http://testserver", "/api/v1/authorize/"), id="nothing-forwarded"),
        pytest.param(
            {"HTTP_X_FORWARDED_METHOD": "GET", "HTTP_X_ORIGINAL_METHOD": "POST"},
            ("POST", "http://testserver", "/api/v1/authorize/"),
            id="forged-get-beside-nginx-post",
        ),
        pytest.param(
            {"HTTP_X_FORWARDED_METHOD": "PUT", "HTTP_X_ORIGINAL_METHOD": "get"},
            ("PUT", "http://testserver", "/api/v1/authorize/"),
            id="forged-get-beside-caddy-put",
        ),
    ],
)
def test_the_forwarded_request_is_read_from_either_convention(rf, meta, expected):
    target = forward_auth.forwarded_request(rf.get("/api/v1/authorize/", **meta))

    assert (target.method, target.origin, target.path) == expected


# --- The endpoints ----------------------------------------------------------------------------


def test_a_valid_key_is_answered_200_with_an_empty_body_and_the_identity_headers(api_client, key_pair, environment):
    key, _ = key_pair

    response = ask(api_client, authorize_url(environment), key_pair)

    assert response.status_code == 200
    assert response.content == b""
    assert "Content-Type" not in response  # no body, so no type
    assert "Allow" not in response
    assert "X-Envkeys-Error" not in response
    assert response["X-Envkeys-Environment-Id"] == str(environment.pk)
    assert response["X-Envkeys-Environment"] == "production"
    assert response["X-Envkeys-Access-Key"] == key.access_key
    assert response["X-Envkeys-Permission"] == "read-write"
    assert response["X-Envkeys-Access-Control"] == "on"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options", "propfind"])
def test_every_method_is_accepted_and_its_body_never_read(api_client, key_pair, environment, method):
    response = ask(api_client, authorize_url(environment), key_pair, method=method)

    assert response.status_code == 200
    assert response["X-Envkeys-Permission"] == "read-write"


def test_no_credentials_get_401_with_the_basic_challenge(api_client, environment):
    response = api_client.get(authorize_url(environment))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="envkeys", charset="UTF-8"'
    assert response.json()["code"] == "not_authenticated"
    assert not any(name in response for name in IDENTITY)
    # Caddy passes a refusal on to the client: the methods envkeys accepts say nothing of the service's.
    assert "Allow" not in response
    # nginx never reads the body: the code is in a header too, for its configuration's JSON error.
    assert response["X-Envkeys-Error"] == "not_authenticated"


def test_a_wrong_secret_gets_401_and_a_refusal_summary_with_the_forwarded_host_and_path(
    api_client, key_pair, environment
):
    key, _ = key_pair

    response = ask(
        api_client,
        authorize_url(environment),
        (key, "envk" + "A" * 40),
        HTTP_X_FORWARDED_HOST="app.example.com",
        HTTP_X_FORWARDED_URI="/reports?secret=hunter2",
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="envkeys"')
    assert response.json()["code"] == "authentication_failed"
    event = AuditEvent.objects.get(action=AuditAction.AUTH_REFUSED)
    assert event.environment == environment
    assert event.target == key.access_key
    assert event.changes == {"forwarded": {"host": "app.example.com", "path": "/reports"}}


def test_a_deactivated_key_is_refused_on_the_next_request_and_allowed_again_once_activated(
    api_client, key_pair, environment
):
    key, _ = key_pair
    assert ask(api_client, authorize_url(environment), key_pair).status_code == 200

    services.deactivate_api_key(key=key)
    refused = ask(api_client, authorize_url(environment), key_pair)
    services.activate_api_key(key=key)
    allowed = ask(api_client, authorize_url(environment), key_pair)

    assert (refused.status_code, refused.json()["code"]) == (401, "key_inactive")
    assert allowed.status_code == 200


def test_an_expired_key_is_refused_with_401(api_client, environment, make_key, clock):
    pair = make_key(environment, expires_at=timezone.now() + datetime.timedelta(hours=1))
    clock.advance(hours=2)

    response = ask(api_client, authorize_url(environment), pair)

    assert (response.status_code, response.json()["code"]) == (401, "key_expired")


def test_another_environments_key_is_403_wrong_environment(api_client, key_pair, other_environment):
    response = ask(api_client, authorize_url(other_environment), key_pair)

    assert (response.status_code, response.json()["code"]) == (403, "wrong_environment")
    assert response["X-Envkeys-Error"] == "wrong_environment"
    assert not any(name in response for name in IDENTITY)


def test_a_usable_key_refused_is_summarised_in_the_environment_it_knocked_on(
    api_client, key_pair, environment, other_environment, make_key
):
    key, _ = key_pair
    reader = make_key(environment, permission=Permission.READ_ONLY)
    forwarded = {"HTTP_X_FORWARDED_HOST": "staging.example.com", "HTTP_X_FORWARDED_URI": "/admin?x=1"}

    ask(api_client, authorize_url(other_environment), key_pair, **forwarded)
    ask(api_client, authorize_url(environment), reader, HTTP_X_FORWARDED_METHOD="DELETE", **forwarded)

    wrong, read_only = (
        AuditEvent.objects.filter(action=AuditAction.AUTH_REFUSED)
        .order_by("id")
        .values_list("environment", "target", "reason", "changes")
    )
    where = {"forwarded": {"host": "staging.example.com", "path": "/admin"}}
    assert wrong == (other_environment.pk, key.access_key, "wrong_environment", where)
    assert read_only == (environment.pk, reader[0].access_key, "permission_denied", where)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"HTTP_X_FORWARDED_METHOD": "POST"}, 403, id="caddy-post"),
        pytest.param({"HTTP_X_ORIGINAL_METHOD": "DELETE"}, 403, id="nginx-delete"),
        pytest.param({"HTTP_X_FORWARDED_METHOD": "GET"}, 200, id="caddy-get"),
        pytest.param({}, 200, id="own-method-get"),
    ],
)
def test_a_read_only_key_is_judged_by_the_forwarded_method(api_client, environment, make_key, headers, status):
    pair = make_key(environment, permission=Permission.READ_ONLY)

    response = ask(api_client, authorize_url(environment), pair, **headers)

    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "permission_denied"
    else:
        assert response["X-Envkeys-Permission"] == "read-only"


def test_a_read_only_keys_own_post_is_refused(api_client, environment, make_key):
    pair = make_key(environment, permission=Permission.READ_ONLY)

    response = ask(api_client, authorize_url(environment), pair, method="post")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_the_shared_endpoint_names_the_environment_of_each_key(api_client, key_pair, other_environment, make_key):
    other_pair = make_key(other_environment)

    mine = ask(api_client, authorize_url(), key_pair)
    theirs = ask(api_client, authorize_url(), other_pair)

    assert (mine.status_code, mine["X-Envkeys-Environment"]) == (200, "production")
    assert (theirs.status_code, theirs["X-Envkeys-Environment"]) == (200, "staging")
    assert theirs["X-Envkeys-Environment-Id"] == str(other_environment.pk)


def test_a_change_sent_to_the_protected_service_by_another_sites_page_is_refused(api_client, key_pair, environment):
    response = ask(
        api_client,
        authorize_url(environment),
        key_pair,
        HTTP_X_FORWARDED_METHOD="POST",
        HTTP_X_FORWARDED_HOST="app.example.com",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_ORIGIN="https://evil.example.net",
    )
    same_site = ask(
        api_client,
        authorize_url(environment),
        key_pair,
        HTTP_X_FORWARDED_METHOD="POST",
        HTTP_X_FORWARDED_HOST="app.example.com",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_ORIGIN="https://app.example.com",
    )

    assert (response.status_code, response.json()["code"]) == (403, "cross_site_request")
    assert same_site.status_code == 200


def test_errors_are_json_whatever_the_clients_accept_header_asks_for(api_client, environment):
    response = api_client.get(authorize_url(environment), HTTP_ACCEPT="image/avif,image/webp,*/*;q=0.8")
    html = api_client.get(authorize_url(environment), HTTP_ACCEPT="text/html")

    assert (response.status_code, response["Content-Type"]) == (401, "application/json")
    assert (html.status_code, html["Content-Type"]) == (401, "application/json")


def test_over_the_limit_the_answer_is_429_with_retry_after(api_client, settings, key_pair, environment, clock):
    settings.AUTH_FAILURE_RATE_PER_ADDRESS = "2/min"
    key, _ = key_pair
    wrong = (key, "envk" + "B" * 40)

    statuses = [ask(api_client, authorize_url(environment), wrong).status_code for _ in range(3)]
    response = ask(api_client, authorize_url(environment), key_pair)

    assert statuses == [401, 401, 429]
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_with_access_control_off_everyone_is_allowed_and_told_so(api_client, settings, environment):
    settings.ACCESS_CONTROL = False

    response = api_client.post(authorize_url(environment))

    assert response.status_code == 200
    assert response["X-Envkeys-Access-Control"] == "off"
    assert all(response[name] == "" for name in IDENTITY)


def test_a_steady_state_authorize_is_exactly_one_query(
    api_client, key_pair, environment, clock, django_assert_num_queries
):
    ask(api_client, authorize_url(environment), key_pair)  # first use: writes last_used_at
    clock.advance(seconds=30)

    with django_assert_num_queries(1):
        response = ask(api_client, authorize_url(environment), key_pair)

    assert response.status_code == 200


def test_last_used_is_written_at_most_once_per_interval(api_client, key_pair, environment, clock, settings):
    key, _ = key_pair
    settings.APIKEY_LAST_USED_INTERVAL = 60
    ask(api_client, authorize_url(environment), key_pair)
    key.refresh_from_db()
    first = key.last_used_at

    clock.advance(seconds=30)
    ask(api_client, authorize_url(environment), key_pair)
    key.refresh_from_db()
    unchanged = key.last_used_at
    clock.advance(seconds=40)
    ask(api_client, authorize_url(environment), key_pair)
    key.refresh_from_db()

    assert first is not None
    assert unchanged == first
    assert key.last_used_at > first


def test_the_environment_links_to_its_authorize_endpoint(key_client, environment):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/")

    assert response.json()["links"]["authorize"] == f"http://testserver/api/v1/environments/{environment.pk}/authorize/"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("production", id="ascii"),
        pytest.param("Produktion-München", id="non-ascii"),
        pytest.param("=?utf-8?b?ZGVtbw==?=", id="looks-encoded"),
        pytest.param("prod =?x?q?y?= eu", id="holds-an-encoded-word"),
    ],
)
def test_the_environment_header_always_decodes_to_the_environments_own_name(api_client, environment, make_key, name):
    # A name that looks like an RFC 2047 encoded word must not decode to another environment's name.
    environment.name = name
    environment.save()
    response = ask(api_client, authorize_url(environment), make_key(environment, name="ci"))

    value = response["X-Envkeys-Environment"]
    decoded = "".join(
        part.decode(charset or "ascii") if isinstance(part, bytes) else part
        for part, charset in email.header.decode_header(value)
    )
    assert decoded == name
    assert value.isascii()

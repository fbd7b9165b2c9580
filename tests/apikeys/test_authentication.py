"""The DRF authentication class: HTTP Basic with the access key and the secret key."""

import base64
import datetime

import pytest
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apikeys import crypto, services, usage
from apikeys.authentication import ApiKeyAuthentication, ApiKeyUser
from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db


def _authenticate(authorization: str | None):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    request = Request(APIRequestFactory().get("/api/v1/", **headers))
    return ApiKeyAuthentication().authenticate(request)


def _failure(authorization: str) -> exceptions.AuthenticationFailed:
    with pytest.raises(exceptions.AuthenticationFailed) as failed:
        _authenticate(authorization)
    return failed.value


def _b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def test_the_key_pair_authenticates_as_the_key(key_pair):
    key, secret = key_pair
    user, auth = _authenticate(basic_auth(key.access_key, secret))

    assert auth == key
    assert isinstance(user, ApiKeyUser)
    assert user.api_key == key
    assert user.get_username() == key.access_key


def test_the_lower_case_scheme_is_accepted(key_pair):
    key, secret = key_pair
    header = basic_auth(key.access_key, secret).replace("Basic ", "basic ")

    assert _authenticate(header)[1] == key


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("", id="empty-header"),
        pytest.param("Bearer abc.def.ghi", id="bearer"),
        pytest.param("Token 0123456789abcdef", id="token"),
        pytest.param("Digest username=x", id="digest"),
    ],
)
def test_other_schemes_are_left_to_the_next_authentication_class(authorization):
    assert _authenticate(authorization) is None


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic", id="no-credentials"),
        pytest.param("Basic    ", id="only-spaces"),
        pytest.param("Basic abc def", id="two-credentials"),
        pytest.param("Basic !!!notbase64", id="not-base64"),
        pytest.param("Basic " + _b64(b"EKNOCOLONHERE"), id="no-colon"),
        pytest.param("Basic " + _b64(b"\xff\xfe:\xfd"), id="not-utf8"),
        pytest.param("Basic " + _b64(b":"), id="empty-pair"),
        pytest.param("Basic " + _b64(b"admin:admin"), id="a-user-password"),
    ],
)
def test_malformed_basic_credentials_fail_with_a_401(authorization):
    failure = _failure(authorization)
    assert failure.status_code == 401


def test_wrong_secret_and_unknown_access_key_get_one_generic_message(key_pair):
    key, secret = key_pair
    wrong_secret = _failure(basic_auth(key.access_key, crypto.generate_secret_key()))
    unknown_key = _failure(basic_auth(crypto.generate_access_key(), secret))

    assert str(wrong_secret.detail) == usage.INVALID_CREDENTIALS
    assert wrong_secret.get_codes() == "authentication_failed"
    assert (str(unknown_key.detail), unknown_key.get_codes()) == (str(wrong_secret.detail), wrong_secret.get_codes())


def test_an_inactive_key_is_named_only_once_the_secret_verifies(key_pair):
    key, secret = key_pair
    services.deactivate_api_key(key=key)

    verified = _failure(basic_auth(key.access_key, secret))
    guessed = _failure(basic_auth(key.access_key, crypto.generate_secret_key()))

    assert (str(verified.detail), verified.get_codes()) == ("This API key is inactive.", "key_inactive")
    assert (str(guessed.detail), guessed.get_codes()) == (usage.INVALID_CREDENTIALS, "authentication_failed")


def test_an_expired_key_is_named_only_once_the_secret_verifies(environment, clock):
    key, secret = services.create_api_key(environment=environment, expires_at=clock.now + datetime.timedelta(days=1))
    clock.advance(days=1)

    verified = _failure(basic_auth(key.access_key, secret))
    guessed = _failure(basic_auth(key.access_key, crypto.generate_secret_key()))

    assert (str(verified.detail), verified.get_codes()) == ("This API key has expired.", "key_expired")
    assert (str(guessed.detail), guessed.get_codes()) == (usage.INVALID_CREDENTIALS, "authentication_failed")


def test_the_challenge_asks_for_basic_credentials():
    request = Request(APIRequestFactory().get("/api/v1/"))
    assert ApiKeyAuthentication().authenticate_header(request) == 'Basic realm="envkeys", charset="UTF-8"'


def test_the_key_principal_is_not_a_database_user_and_has_no_model_permissions(key_pair):
    key, _ = key_pair
    user = ApiKeyUser(key)

    assert user.is_authenticated and not user.is_anonymous
    assert not (user.is_staff or user.is_superuser)
    assert user.pk is None
    assert not user.has_perm("apikeys.delete_apikey")
    assert str(user) == f"API key {key.access_key}"


@pytest.mark.parametrize(
    ("headers", "expected_status"),
    [
        pytest.param({"HTTP_ORIGIN": "https://evil.example"}, 403, id="origin-of-another-site"),
        pytest.param({"HTTP_ORIGIN": "null"}, 403, id="opaque-origin"),
        pytest.param({"HTTP_SEC_FETCH_SITE": "cross-site"}, 403, id="fetch-metadata-cross-site"),
        pytest.param({"HTTP_SEC_FETCH_SITE": "same-site"}, 403, id="fetch-metadata-same-site"),
        pytest.param({"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"}, 200, id="same-origin"),
        pytest.param({}, 200, id="no-browser-headers-like-curl"),
    ],
)
def test_a_change_with_key_credentials_from_another_sites_page_is_refused(
    key_client, environment, make_key, headers, expected_status
):
    target, _ = make_key(environment, name="target")

    response = key_client.post(
        f"/api/v1/environments/{environment.pk}/apikeys/{target.pk}/deactivate/",
        content_type="application/x-www-form-urlencoded",
        **headers,
    )

    assert response.status_code == expected_status
    target.refresh_from_db()
    if expected_status == 403:
        assert response.json()["code"] == "cross_site_request"
        assert target.state == "active"
    else:
        assert target.state == "inactive"


def test_a_read_with_key_credentials_from_another_site_is_allowed(key_client, environment):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/", HTTP_SEC_FETCH_SITE="cross-site")

    assert response.status_code == 200

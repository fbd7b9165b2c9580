"""The key-authenticated path end to end through the API."""

from apikeys.models import ApiKey, State
from tests.conftest import basic_auth


def test_key_reads_its_environment_endpoint(key_client, environment):
    response = key_client.get(f"/api/v1/environments/{environment.pk}/")
    assert response.status_code == 200
    assert response.json()["links"]["apikeys"] == f"http://testserver/api/v1/environments/{environment.pk}/apikeys/"


def test_deactivated_key_is_refused_on_the_next_request(key_client, key_pair, environment):
    key, _ = key_pair
    response = key_client.post(f"/api/v1/environments/{environment.pk}/apikeys/{key.pk}/deactivate/")
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.state == State.INACTIVE
    refused = key_client.get(f"/api/v1/environments/{environment.pk}/")
    assert refused.status_code == 401
    assert refused.json() == {"code": "key_inactive", "detail": "This API key is inactive."}


def test_missing_credentials_get_a_basic_challenge(api_client, environment):
    response = api_client.get(f"/api/v1/environments/{environment.pk}/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Basic realm="envkeys"')
    assert response.json()["code"] == "not_authenticated"


def test_authenticated_key_request_costs_one_query(api_client, key_pair, environment, django_assert_num_queries):
    key, secret = key_pair
    ApiKey.objects.filter(pk=key.pk).update(last_used_at="2999-01-01T00:00:00Z")
    api_client.credentials(HTTP_AUTHORIZATION=basic_auth(key.access_key, secret))
    with django_assert_num_queries(1):
        response = api_client.get(f"/api/v1/environments/{environment.pk}/")
    assert response.status_code == 200

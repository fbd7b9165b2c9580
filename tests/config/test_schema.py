"""The OpenAPI 3 schema of the whole API."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.support.auth import basic_auth

pytestmark = pytest.mark.django_db


def test_the_schema_is_served_without_credentials(api_client):
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/",
        "/api/v1/environments/",
        "/api/v1/environments/{id}/",
        "/api/v1/environments/{environment_pk}/apikeys/",
        "/api/v1/environments/{environment_pk}/apikeys/{id}/",
        "/api/v1/environments/{environment_pk}/apikeys/{id}/activate/",
        "/api/v1/environments/{environment_pk}/apikeys/{id}/deactivate/",
        "/api/v1/environments/{environment_pk}/members/",
        "/api/v1/environments/{environment_pk}/members/{id}/",
        "/api/v1/environments/{environment_pk}/authorize/",
        "/api/v1/authorize/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["environmentApiKey"] == {
        "type": "http",
        "scheme": "basic",
        "description": "An environment API key: the access key is the username, the secret key the password.",
    }


def test_the_schema_documents_the_secret_only_in_the_create_response():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    with_secret = {name for name, component in components.items() if "secret_key" in component.get("properties", {})}
    assert with_secret == {"ApiKeyCreated"}
    create = schema["paths"]["/api/v1/environments/{environment_pk}/apikeys/"]["post"]
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyCreated"
    }


def test_generating_the_schema_raises_no_warnings_or_errors(capsys):
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    GENERATOR_STATS.enable_trace_lineno()
    SchemaGenerator().get_schema(request=None, public=True)

    assert (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache) == ({}, {})


@pytest.mark.parametrize(
    ("method", "query", "credentials", "status", "code"),
    [
        pytest.param("delete", "", None, 405, "method_not_allowed", id="delete-405"),
        pytest.param("post", "", None, 405, "method_not_allowed", id="post-405"),
        pytest.param("get", "", ("EK" + "A" * 30, "wrong"), 401, "authentication_failed", id="wrong-key-401"),
        pytest.param("get", "?format=xml", None, 404, "not_found", id="format-xml-404"),
        pytest.param("get", "?version=%3Cscript%3E", None, 404, "not_found", id="version-404"),
    ],
)
def test_errors_from_the_schema_endpoint_are_json(api_client, method, query, credentials, status, code):
    if credentials is not None:
        api_client.credentials(HTTP_AUTHORIZATION=basic_auth(*credentials))

    response = getattr(api_client, method)(f"/api/v1/schema/{query}")

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code


def test_the_schema_never_prints_a_version_the_request_made_up(api_client):
    response = api_client.get("/api/v1/schema/?version=%3Cscript%3Ealert(1)%3C/script%3E&format=json")

    assert response.status_code == 404
    assert "<script>" not in response.content.decode()
    assert api_client.get("/api/v1/schema/?format=json").json()["info"]["version"] == "1"

"""Bodies the server cannot measure or should not read are refused before anything acts on them.

A chunked body (no Content-Length) is a 411, a body over DATA_UPLOAD_MAX_MEMORY_SIZE a 413
whatever its content type, a multipart file part a 400; multipart form fields (the browsable
API's forms) still work. Checked in-process and against a real gunicorn, which is what passes
chunked bodies on without a Content-Length.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apikeys.models import ApiKey, Permission
from tests.support.auth import basic_auth

LENGTH_REQUIRED = {
    "code": "length_required",
    "detail": "Send the request body with a Content-Length header; chunked request bodies are not accepted.",
}
TOO_LARGE = {"code": "request_too_large", "detail": "The request body is too large."}
FILES_REFUSED = {"code": "file_upload_refused", "detail": "File uploads are not accepted: send JSON or form fields."}
CREATE = json.dumps({"name": "ci", "permission": "read-only"}).encode()


def keys_path(environment) -> str:
    return f"/api/v1/environments/{environment.pk}/apikeys/"


@pytest.mark.django_db
def test_a_chunked_body_is_refused_411_and_creates_nothing(key_client, environment):
    response = key_client.generic(
        "POST", keys_path(environment), CREATE, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert response.status_code == 411
    assert response.json() == LENGTH_REQUIRED
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["deploy"]


@pytest.mark.django_db
def test_a_chunked_body_on_a_dashboard_page_gets_a_plain_411_page(client):
    response = client.generic("POST", "/accounts/login/", b"username=a&password=b", HTTP_TRANSFER_ENCODING="chunked")

    assert response.status_code == 411
    assert response["Content-Type"].startswith("text/html")
    assert b"<h1>Length Required</h1>" in response.content


@pytest.mark.django_db
def test_a_multipart_body_over_the_limit_is_refused_413_before_it_is_parsed(settings, key_client, environment):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    upload = SimpleUploadedFile("big.bin", b"x" * 4096)

    response = key_client.post(keys_path(environment), {"name": "ci", "upload": upload})

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_a_multipart_file_part_is_refused_400_and_creates_nothing(key_client, environment):
    upload = SimpleUploadedFile("small.bin", b"x" * 100)

    response = key_client.post(keys_path(environment), {"name": "ci", "permission": "read-only", "upload": upload})

    assert response.status_code == 400
    assert response.json() == FILES_REFUSED
    assert ApiKey.objects.count() == 1


@pytest.mark.django_db
def test_multipart_form_fields_as_the_browsable_api_posts_them_still_create_a_key(key_client, environment):
    response = key_client.post(keys_path(environment), {"name": "ci", "permission": "read-only"})

    assert response.status_code == 201, response.content
    assert ApiKey.objects.get(name="ci").permission == Permission.READ_ONLY


@pytest.mark.django_db
def test_a_multipart_file_part_sent_to_the_dashboard_gets_the_bad_request_page(client):
    response = client.post("/accounts/login/", {"username": "a", "upload": SimpleUploadedFile("f.bin", b"x")})

    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


def _head(method: str, path: str, pair: tuple[str, str], *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {basic_auth(*pair)}", *headers]
    return "\r\n".join(lines).encode()


def _chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    chunks = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def _multipart(boundary: str, fields: dict, file: tuple[str, int] | None = None) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file is not None:
        name, size = file
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + b"x" * size
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.mark.slow
def test_a_real_server_refuses_chunked_bodies_and_acts_on_none_of_them(app_servers, environment, make_key):
    (server,) = app_servers(1)
    key, secret = make_key(environment, name="deploy")
    pair = (key.access_key, secret)
    json_type = "Content-Type: application/json"
    chunked = "Transfer-Encoding: chunked"

    create = server.raw(_head("POST", keys_path(environment), pair, json_type, chunked), _chunked(CREATE))
    patch = server.raw(
        _head("PATCH", f"{keys_path(environment)}{key.pk}/", pair, json_type, chunked),
        _chunked(json.dumps({"name": "renamed"}).encode()),
    )
    large = server.raw(
        _head("POST", keys_path(environment), pair, json_type, chunked),
        _chunked(json.dumps({"name": "x" * (2 * 1024 * 1024)}).encode()),
    )
    page = server.raw(
        _head("POST", "/accounts/login/", pair, "Content-Type: application/x-www-form-urlencoded", chunked),
        _chunked(b"username=a&password=b"),
    )

    assert [reply.status for reply in (create, patch, large)] == [411, 411, 411], server.log_tail()
    assert create.json() == patch.json() == large.json() == LENGTH_REQUIRED
    assert page.status == 411
    assert b"Length Required" in page.body
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["deploy"]


@pytest.mark.slow
def test_a_real_server_refuses_multipart_uploads_before_reading_them(app_servers, environment, make_key):
    (server,) = app_servers(1)
    key, secret = make_key(environment, name="deploy")
    pair = (key.access_key, secret)
    boundary = "envkeys-test-boundary"
    multipart = f"Content-Type: multipart/form-data; boundary={boundary}"

    # 8 MB announced, only the first 64 KB sent: the answer must come without the rest.
    eight_mb = _multipart(boundary, {"name": "ci"}, file=("upload", 8 * 1024 * 1024))
    too_large = server.raw(
        _head("POST", keys_path(environment), pair, multipart, f"Content-Length: {len(eight_mb)}"),
        eight_mb[: 64 * 1024],
    )
    small_file = _multipart(boundary, {"name": "ci", "permission": "read-only"}, file=("upload", 1024))
    file_part = server.raw(
        _head("POST", keys_path(environment), pair, multipart, f"Content-Length: {len(small_file)}"), small_file
    )
    fields = _multipart(boundary, {"name": "ci", "permission": "read-only"})
    form = server.raw(_head("POST", keys_path(environment), pair, multipart, f"Content-Length: {len(fields)}"), fields)

    assert too_large.status == 413, server.log_tail()
    assert too_large.json() == TOO_LARGE
    assert file_part.status == 400
    assert file_part.json() == FILES_REFUSED
    assert form.status == 201, form.body
    assert form.json()["permission"] == "read-only"
    assert sorted(ApiKey.objects.values_list("name", flat=True)) == ["ci", "deploy"]

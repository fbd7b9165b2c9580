"""Forward authentication through the real proxies: nginx and Caddy with the shipped configurations.

envkeys runs under gunicorn (sharing the test's PostgreSQL database and Redis cache), the proxy in
front of an upstream that echoes the headers it received, and a real HTTP client asks the proxy.
"""

import base64
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from apikeys import services
from apikeys.models import Permission
from common.audit.models import AuditAction, AuditEvent
from tests.support.proxies import EchoUpstream, start_caddy, start_nginx

pytestmark = pytest.mark.slow

IDENTITY = ("x-envkeys-environment-id", "x-envkeys-environment", "x-envkeys-access-key", "x-envkeys-permission")
SERVICE_HOST = "app.test"


def call(proxy, method="GET", path="/reports?page=2", *, pair=None, headers=None, data=None):
    """Send one request to the proxy as a client would; return (status, headers, body bytes).

    A changing method sends a small JSON body unless ``data`` is given (an iterable of bytes is
    sent chunked).
    """
    headers = {"Host": SERVICE_HOST, **(headers or {})}
    if pair is not None:
        key, secret = pair
        headers["Authorization"] = "Basic " + base64.b64encode(f"{key.access_key}:{secret}".encode()).decode()
    if data is None and method in ("POST", "PUT", "PATCH"):
        data = b'{"deploy": true}'
    request = urllib.request.Request(proxy.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def challenges(proxy) -> list[str]:
    """Return every WWW-Authenticate header of the proxy's answer to a request without credentials."""
    request = urllib.request.Request(proxy.url + "/reports", headers={"Host": SERVICE_HOST})
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        return error.headers.get_all("WWW-Authenticate") or []
    return []


def code(body: bytes) -> str:
    return json.loads(body)["code"]


@pytest.fixture
def upstream():
    server = EchoUpstream()
    yield server
    server.stop()


@pytest.fixture
def proxies(tmp_path):
    started = []
    yield started
    for proxy in started:
        proxy.stop()


START = {"nginx": start_nginx, "caddy": start_caddy}


@pytest.mark.parametrize("proxy_name", ["nginx", "caddy"])
def test_a_service_behind_the_proxy_is_reached_only_as_envkeys_decides(
    proxy_name, app_servers, upstream, proxies, tmp_path, environment, other_environment, make_key
):
    (envkeys,) = app_servers(count=1, TRUSTED_PROXY_COUNT="1", AUTH_FAILURE_RATE_PER_ADDRESS="3/min")
    authorize_url = f"{envkeys.url}/api/v1/environments/{environment.pk}/authorize/"
    proxy = START[proxy_name](authorize_url=authorize_url, upstream=f"127.0.0.1:{upstream.port}", workdir=tmp_path)
    proxies.append(proxy)
    key, secret = make_key(environment, name="ci")
    reader = make_key(environment, name="reader", permission=Permission.READ_ONLY)
    foreign = make_key(other_environment, name="elsewhere")

    def explain(what):
        return f"{proxy_name}: {what}\n{proxy.log_tail()}\n{envkeys.log_tail()}"

    # No credentials: 401 with the Basic challenge (once) and envkeys' JSON error at the client,
    # and the upstream never asked.
    status, headers, body = call(proxy)
    assert status == 401, explain(status)
    assert challenges(proxy) == ['Basic realm="envkeys", charset="UTF-8"'], explain(headers)
    assert headers["content-type"].startswith("application/json") and code(body) == "not_authenticated", body
    assert upstream.hits == 0

    # A valid key: the upstream answers and sees the four identity headers; a client-sent
    # X-Envkeys-Access-Key never reaches it.
    forged = {"X-Envkeys-Access-Key": "EKFORGEDFORGEDFORGED", "X-Envkeys-Access-Control": "off"}
    status, _, body = call(proxy, pair=(key, secret), headers=forged)
    assert status == 200, explain(status)
    seen = json.loads(body)
    assert seen["headers"]["x-envkeys-access-control"] == "on", explain(seen)
    assert seen["path"] == "/reports?page=2"
    assert {name: seen["headers"].get(name) for name in IDENTITY} == {
        "x-envkeys-environment-id": str(environment.pk),
        "x-envkeys-environment": "production",
        "x-envkeys-access-key": key.access_key,
        "x-envkeys-permission": "read-write",
    }, explain(seen)
    # Refused, a forged identity header is not passed on either.
    hits = upstream.hits
    status, _, _ = call(proxy, headers={"X-Envkeys-Access-Key": "EKFORGEDFORGEDFORGED"})
    assert status == 401 and upstream.hits == hits

    # A read-write key's POST goes through with its method.
    status, _, body = call(proxy, "POST", pair=(key, secret))
    assert status == 200, explain(status)
    assert json.loads(body)["method"] == "POST"

    # Deactivate: the next request is 401; activate: allowed again.
    services.deactivate_api_key(key=key)
    status, headers, body = call(proxy, pair=(key, secret))
    assert status == 401, explain(status)
    assert code(body) == "key_inactive", body
    services.activate_api_key(key=key)
    assert call(proxy, pair=(key, secret))[0] == 200

    # A read-only key: POST refused with 403, GET allowed.
    hits = upstream.hits
    status, _, body = call(proxy, "POST", pair=reader)
    assert status == 403 and code(body) == "permission_denied", (status, body)
    assert call(proxy, "DELETE", pair=reader)[0] == 403
    # Not even with a forged method header of either convention.
    forged_get = {"X-Forwarded-Method": "GET", "X-Original-Method": "GET"}
    assert call(proxy, "POST", pair=reader, headers=forged_get)[0] == 403
    assert upstream.hits == hits
    status, _, body = call(proxy, pair=reader)
    assert status == 200
    assert json.loads(body)["headers"]["x-envkeys-permission"] == "read-only"

    # Another environment's key: 403.
    status, _, body = call(proxy, pair=foreign)
    assert status == 403 and code(body) == "wrong_environment", (status, body)

    # Over the limits: 429 with Retry-After at the client (3 failures per minute from one address).
    wrong = (key, "envk" + "Z" * 46)
    statuses = [call(proxy, pair=wrong)[0] for _ in range(4)]
    status, headers, body = call(proxy, pair=wrong)
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429, explain(statuses)
    assert status == 429 and int(headers["retry-after"]) > 0, explain((status, headers))
    assert json.loads(body)["code"] == "throttled"
    # The refusals are summarised with the forwarded host and path (never the query string).
    event = AuditEvent.objects.filter(action=AuditAction.AUTH_REFUSED, reason="authentication_failed").get()
    assert event.changes == {"forwarded": {"host": SERVICE_HOST, "path": "/reports"}}, explain(event.changes)
    assert event.address == "127.0.0.1"

    # envkeys stopped: the proxy answers an error, never the upstream.
    envkeys.process.terminate()
    envkeys.process.wait(timeout=15)
    hits = upstream.hits
    status, _, _ = call(proxy, pair=(key, secret))
    assert status == {"nginx": 503, "caddy": 502}[proxy_name], explain(status)
    assert upstream.hits == hits


@pytest.mark.parametrize("proxy_name", ["nginx", "caddy"])
def test_with_access_control_off_a_client_still_cannot_claim_an_identity(
    proxy_name, app_servers, upstream, proxies, tmp_path, environment
):
    (envkeys,) = app_servers(count=1, ACCESS_CONTROL="false")
    authorize_url = f"{envkeys.url}/api/v1/environments/{environment.pk}/authorize/"
    proxy = START[proxy_name](authorize_url=authorize_url, upstream=f"127.0.0.1:{upstream.port}", workdir=tmp_path)
    proxies.append(proxy)
    forged = {name: "forged" for name in (*IDENTITY, "x-envkeys-access-control")}

    status, _, body = call(proxy, "POST", headers=forged)

    assert status == 200, f"{proxy.log_tail()}\n{envkeys.log_tail()}"
    seen = json.loads(body)["headers"]
    assert seen.get("x-envkeys-access-control") == "off"
    # Not passed on, or passed on empty: never the client's value.
    assert {name: seen.get(name) or "" for name in IDENTITY} == dict.fromkeys(IDENTITY, ""), seen


@pytest.mark.parametrize("proxy_name", ["nginx", "caddy"])
def test_the_services_bodies_are_its_own_business_large_or_chunked(
    proxy_name, app_servers, upstream, proxies, tmp_path, environment, make_key, settings
):
    # envkeys refuses chunked bodies and bodies over its size limit for its own API; the authorize
    # endpoint never reads one, so what the proxy forwards of the client's body headers must not
    # turn a valid key into a refusal.
    (envkeys,) = app_servers(count=1, TRUSTED_PROXY_COUNT="1")
    authorize_url = f"{envkeys.url}/api/v1/environments/{environment.pk}/authorize/"
    proxy = START[proxy_name](authorize_url=authorize_url, upstream=f"127.0.0.1:{upstream.port}", workdir=tmp_path)
    proxies.append(proxy)
    pair = make_key(environment, name="uploader")
    large = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    for data in (large, iter([b'{"part": 1}', b'{"part": 2}'])):
        status, _, body = call(proxy, "POST", pair=pair, data=data)

        assert status == 200, f"{proxy_name}: {status} {body[:200]!r}\n{proxy.log_tail()}\n{envkeys.log_tail()}"
        assert json.loads(body)["method"] == "POST"


def _process_and_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return [pid, *children]


@pytest.mark.parametrize("proxy_name", ["nginx", "caddy"])
def test_the_service_gets_no_secret_and_no_method_override_and_same_origin_writes_pass_on_any_port(
    proxy_name, app_servers, upstream, proxies, tmp_path, environment, make_key
):
    (envkeys,) = app_servers(count=1, TRUSTED_PROXY_COUNT="1")
    authorize_url = f"{envkeys.url}/api/v1/environments/{environment.pk}/authorize/"
    proxy = START[proxy_name](authorize_url=authorize_url, upstream=f"127.0.0.1:{upstream.port}", workdir=tmp_path)
    proxies.append(proxy)
    pair = make_key(environment, name="ci")
    reader = make_key(environment, name="reader", permission=Permission.READ_ONLY)

    def explain(what):
        return f"{proxy_name}: {what}\n{proxy.log_tail()}\n{envkeys.log_tail()}"

    # The key pair stays between the client, the proxy and envkeys; a read-only key's GET cannot be
    # turned into a DELETE at a service that honours method overrides; the request id is the proxy's.
    override = {"X-HTTP-Method-Override": "DELETE", "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE"}
    status, _, body = call(proxy, pair=reader, headers={**override, "X-Request-Id": "client-chosen"})
    assert status == 200, explain(status)
    seen = json.loads(body)["headers"]
    assert "authorization" not in seen, explain(seen)
    assert not {name.lower() for name in override} & set(seen), explain(seen)
    assert seen.get("x-request-id") and seen["x-request-id"] != "client-chosen", explain(seen)

    # A browser's write from the service's own pages on a port of its own is same-origin...
    same_origin = {"Host": "app.test:8443", "Origin": "http://app.test:8443", "Sec-Fetch-Site": "same-origin"}
    status, _, body = call(proxy, "POST", pair=pair, headers=same_origin)
    assert status == 200, explain((status, body))
    # ...and one from the same host on another port is not.
    status, _, body = call(proxy, "POST", pair=pair, headers={"Host": "app.test:8443", "Origin": "http://app.test"})
    assert status == 403 and code(body) == "cross_site_request", explain((status, body))

    # A hung envkeys (every process stopped) costs the client a bounded wait, then an error; never
    # the upstream. The bound is the configuration's 10 s read timeout, with slack for a slow machine.
    pids = _process_and_children(envkeys.process.pid)
    hits = upstream.hits
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, _, _ = call(proxy, pair=pair)
        waited = time.monotonic() - started
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert status == {"nginx": 503, "caddy": 504}[proxy_name], explain(status)
    assert waited < 20, waited
    assert upstream.hits == hits

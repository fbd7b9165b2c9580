"""Time the two costs of the key path that envkeys chose a way for, per call, against the alternatives.

1. Loading a key and its environment by access key: the ORM query, ``Manager.raw()`` with
   ``Model.from_db``, and ``apikeys.selectors.key_for_authentication``.
2. A key's absolute link: DRF's ``reverse`` per link, and ``common.api.links`` (the collection
   reversed once per response, the id appended).
3. A whole key-authenticated request, in process (Django's test client, no network): the
   environment endpoint and the forward-authentication endpoint, whose cost should be no higher.
4. What ``common.requestlog.RequestMiddleware`` adds to every request (request id, request
   metrics in multiprocess mode, the request log line), around a view that does nothing.

Usage: ``.venv/bin/python bench/micro.py [--calls 5000] [--database-url sqlite:///...]``. With no
database URL it migrates a throw-away SQLite file. It prints microseconds per call, the median of
five runs.
"""

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    options = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="envkeys-lookup-")
    os.environ["DATABASE_URL"] = options.database_url or f"sqlite:///{workdir}/lookup.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # As under gunicorn (config/gunicorn.py): metrics in shared memory-mapped files.
    os.makedirs(f"{workdir}/metrics")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = f"{workdir}/metrics"

    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.request import Request
    from rest_framework.reverse import reverse
    from rest_framework.test import APIRequestFactory

    from apikeys import selectors, services
    from apikeys.models import ApiKey
    from common.api.links import Links
    from environments import services as environment_services
    from environments.models import Environment

    call_command("migrate", verbosity=0)
    environment = environment_services.create_environment(name=f"lookup-bench-{os.getpid()}")
    key, secret = services.create_api_key(environment=environment, name="bench")
    access_key = key.access_key

    key_table, environment_table = ApiKey._meta.db_table, Environment._meta.db_table
    raw_sql = (
        f"SELECT k.*, e.name AS environment_name, e.description AS environment_description, "
        f'e.created_at AS environment_created_at FROM "{key_table}" k '
        f'INNER JOIN "{environment_table}" e ON e.id = k.environment_id WHERE k.access_key = %s'
    )

    def orm():
        return ApiKey.objects.select_related("environment").get(access_key=access_key)

    def raw():
        found = next(iter(ApiKey.objects.raw(raw_sql, [access_key])))
        found.environment = Environment.from_db(
            "default",
            ["id", "name", "description", "created_at"],
            [
                found.environment_id,
                found.environment_name,
                found.environment_description,
                found.environment_created_at,
            ],
        )
        return found

    def envkeys():
        return selectors.key_for_authentication(access_key=access_key)

    request = Request(APIRequestFactory().get("/api/v1/", HTTP_HOST="127.0.0.1"))
    kwargs = {"environment_pk": environment.pk, "pk": key.pk}

    def drf_link():
        return reverse("api:apikey-detail", kwargs=kwargs, request=request)

    links = Links(request)

    def envkeys_link():
        return links.item("api:apikey-list", key.pk, environment_pk=environment.pk)

    assert drf_link() == envkeys_link()
    print("Key lookup (one key with its environment, by access key):")
    for name, lookup in (("ORM select_related().get()", orm), ("Manager.raw() + from_db", raw), ("envkeys", envkeys)):
        assert lookup().pk == key.pk and lookup().environment.name == environment.name
        _report(name, lookup, options.calls)
    print("A key's absolute link:")
    for name, link in (("DRF reverse, per link", drf_link), ("envkeys links, per link", envkeys_link)):
        _report(name, link, options.calls)
    from django.conf import settings
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{access_key}:{secret}".encode()).decode())
    detail, authorize = f"/api/v1/environments/{environment.pk}/", f"/api/v1/environments/{environment.pk}/authorize/"
    assert client.get(detail).status_code == 200 and client.get(authorize).status_code == 200
    requests = max(1, options.calls // 10)
    print("A whole request with a valid key (in process, no network):")
    timings = {}
    for name, url in (("GET environment endpoint", detail), ("GET authorize endpoint", authorize)):
        timings[name] = _report(name, lambda url=url: client.get(url), requests)
    ratio = timings["GET authorize endpoint"] / timings["GET environment endpoint"]
    verdict = "PASS" if ratio <= 1 else "FAIL"
    print(f"  authorize / environment endpoint = {ratio:.2f} (target: no higher than 1: {verdict})")
    _middleware(options.calls, environment_pk=environment.pk)


def _middleware(calls: int, *, environment_pk: int) -> None:
    """Time a request through RequestMiddleware and without it, around a view that does nothing."""
    import logging

    from django.conf import settings
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from common.requestlog import RequestMiddleware

    path = f"/api/v1/environments/{environment_pk}/"
    match = resolve(path)
    response = HttpResponse(b"{}", content_type="application/json")
    # The request line goes where the console handler writes, sent to /dev/null here.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - kept open for the run

    def view(request):
        request.resolver_match = match
        return response

    request = RequestFactory().get(path, REMOTE_ADDR="127.0.0.1")
    middleware = RequestMiddleware(view)
    print("Request middleware (request id, metrics, request line), around a view that does nothing:")
    _report("no middleware", lambda: view(request), calls)
    settings.LOG_REQUESTS = False
    _report("RequestMiddleware, no line", lambda: middleware(request), calls)
    settings.LOG_REQUESTS = True
    _report("RequestMiddleware + line", lambda: middleware(request), calls)


def _report(name: str, call, calls: int) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        runs.append((time.perf_counter() - started) / calls * 1e6)
    median = statistics.median(runs)
    print(f"  {name:30s} {median:7.1f} us per call (median of 5 x {calls:,} calls)")
    return median


if __name__ == "__main__":
    main()

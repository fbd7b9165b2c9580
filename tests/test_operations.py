"""Operations with real processes: gunicorn with two workers scraped by a real Prometheus, JSON logs, probes.

The metrics test runs on the PostgreSQL pass (both workers and the test share the database and
Redis); the probe tests run on every pass, against servers whose database or cache is broken on
purpose.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import resolve
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from apikeys import crypto
from apikeys.models import ApiKey
from tests.support import engines
from tests.support.prometheus import start_prometheus, stop_prometheus

pytestmark = pytest.mark.slow

VALID_REQUESTS = 40


def _sample(registry: CollectorRegistry, name: str, labels: dict) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def _per_worker(metrics_dir: Path, workdir: Path) -> dict[str, float]:
    """Return each worker's own count of successful key authentications, read from its files alone."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = path.stem.rpartition("_")[2]
        alone = workdir / pid
        alone.mkdir(parents=True)
        shutil.copy(path, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[pid] = _sample(registry, "envkeys_key_authentications_total", {"outcome": "success"})
    return counts


def test_two_workers_are_summed_and_a_real_prometheus_scrapes_the_right_counts(
    transactional_db, server_factory, environment, make_key, tmp_path
):
    engines.require_postgresql()
    engines.require_redis()
    metrics_dir = tmp_path / "metrics"
    server = server_factory(
        env={
            "DATABASE_URL": engines.database_url(),
            "CACHE_URL": engines.cache_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "AUTH_FAILURE_RATE_PER_ADDRESS": "2/day",
            "AUTH_FAILURE_RATE_PER_KEY": "",
            "LOG_FORMAT": "json",
        },
        workers=2,
    )
    key, secret = make_key(environment, name="scraped")
    endpoint = f"/api/v1/environments/{environment.pk}/"
    route = resolve(endpoint).view_name

    # One request whose log line is checked at the end, then several clients at once, so that
    # both workers answer some of the requests.
    logged = server.request("GET", endpoint, auth=(key.access_key, secret))
    assert logged.status == 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(
                lambda _: server.request("GET", endpoint, auth=(key.access_key, secret)).status,
                range(VALID_REQUESTS - 1),
            )
        )
    assert statuses == [200] * (VALID_REQUESTS - 1)
    wrong = (key.access_key, crypto.generate_secret_key())
    refused = [server.request("GET", endpoint, auth=wrong).status for _ in range(4)]
    assert refused == [401, 401, 429, 429]

    # The exposition is the sum over both workers; each worker's own files hold a part of it.
    exposition = server.request("GET", "/metrics")
    assert exposition.status == 200
    text = exposition.body.decode()
    assert f'envkeys_key_authentications_total{{outcome="success"}} {VALID_REQUESTS}.0' in text
    assert 'envkeys_key_authentications_total{outcome="authentication_failed"} 2.0' in text
    assert 'envkeys_key_authentications_total{outcome="throttled"} 2.0' in text
    assert f'envkeys_http_requests_total{{method="GET",route="{route}",status="200"}} {VALID_REQUESTS}.0' in text
    assert key.access_key not in text
    per_worker = _per_worker(metrics_dir, tmp_path / "workers")
    assert len([count for count in per_worker.values() if count > 0]) == 2, per_worker
    assert sum(per_worker.values()) == VALID_REQUESTS

    prometheus = start_prometheus(targets=[server.url.removeprefix("http://")], workdir=tmp_path / "prometheus")
    try:
        expected = {
            'sum(envkeys_key_authentications_total{outcome="success"})': VALID_REQUESTS,
            'sum(envkeys_key_authentications_total{outcome="authentication_failed"})': 2,
            'sum(envkeys_key_authentications_total{outcome="throttled"})': 2,
            f'sum(envkeys_http_requests_total{{route="{route}",status="200"}})': VALID_REQUESTS,
            'sum(envkeys_http_requests_total{status="429"})': 2,
            'envkeys_api_keys{state="active"}': ApiKey.objects.filter(state="active").count(),
        }
        seen = {expr: prometheus.wait_for(expr, value) for expr, value in expected.items()}
        assert seen == expected, prometheus.log_tail()
        # The target is up and no series carries an access key.
        assert prometheus.value('up{job="envkeys"}') == 1
        assert not prometheus.query(f'{{__name__=~"envkeys_.*", outcome=~".*{key.access_key}.*"}}')
    finally:
        stop_prometheus(prometheus)

    # JSON logs: one object per line; each key request's line has its X-Request-Id and access key.
    request_id = logged.headers["X-Request-Id"]
    log_text = _wait_for_text(server.log_path, request_id)
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    # gunicorn's own lines are JSON too (config/gunicorn.py), never its text format.
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    assert not [raw for raw in log_text.splitlines() if raw.startswith("[") and "] [INFO] " in raw], log_text[:2000]
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert len(mine) == 1, log_text[-2000:]
    assert mine[0] | {"time": None, "duration_ms": None} == {
        "time": None,
        "level": "INFO",
        "logger": "envkeys.request",
        "message": mine[0]["message"],
        "request_id": request_id,
        "access_key": key.access_key,
        "method": "GET",
        "path": endpoint,
        "route": route,
        "status": 200,
        "duration_ms": None,
        "client": "127.0.0.1",
    }
    assert secret not in log_text
    assert key.secret_hash.partition("$")[2] not in log_text
    assert "Basic " not in log_text


def _wait_for_text(path: Path, needle: str, timeout: float = 10) -> str:
    """Return the file's text once it holds ``needle`` (the worker writes its log line after answering)."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace")
        if needle in text:
            return text
        time.sleep(0.05)
    return text


@pytest.fixture
def frozen_database():
    """A TCP port that accepts connections and never answers: a database server that froze."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"postgres://envkeys:envkeys@127.0.0.1:{sock.getsockname()[1]}/envkeys"
    sock.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readiness_answers_503_in_bounded_time_when_the_database_is_frozen_while_liveness_stays_200(
    server_factory, frozen_database
):
    server = server_factory(env={"DATABASE_URL": frozen_database, "READINESS_TIMEOUT": "1"})

    assert server.request("GET", "/healthz").json() == {"status": "ok"}
    for _ in range(3):
        started = time.monotonic()
        ready = server.request("GET", "/readyz")
        elapsed = time.monotonic() - started

        assert ready.status == 503
        assert ready.json() == {"status": "unready", "database": "timeout", "cache": "ok"}
        # Bounded by READINESS_TIMEOUT (1 s), with room for a loaded machine; the connect timeout is 5 s.
        assert elapsed < 4, elapsed
    assert server.request("GET", "/healthz").status == 200


def test_readiness_stays_200_and_reports_the_cache_when_the_cache_is_unreachable(server_factory, tmp_path):
    server = server_factory(
        env={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "CACHE_URL": f"redis://127.0.0.1:{_closed_port()}/0",
        }
    )

    ready = server.request("GET", "/readyz")

    assert ready.status == 200, ready.body
    assert ready.json() == {"status": "ready", "database": "ok", "cache": "unavailable"}
    text = server.request("GET", "/metrics").body.decode()
    assert "envkeys_cache_errors_total 1.0" in text


def test_readiness_answers_503_at_once_when_the_database_refuses_connections(server_factory):
    server = server_factory(env={"DATABASE_URL": f"postgres://envkeys:envkeys@127.0.0.1:{_closed_port()}/envkeys"})

    ready = server.request("GET", "/readyz")

    assert ready.status == 503
    assert ready.json() == {"status": "unready", "database": "unavailable", "cache": "ok"}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param("LOG_FORMAT", "xml", "LOG_FORMAT must be text or json.", id="log-format"),
        pytest.param(
            "METRICS_ALLOWED_ADDRESSES",
            "10.0.0.0/8,prometheus.internal",
            "METRICS_ALLOWED_ADDRESSES: 'prometheus.internal' is not an address or network.",
            id="metrics-address",
        ),
    ],
)
def test_a_wrong_operations_setting_stops_the_server_from_starting(variable, value, message):
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        {variable: value, "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "config.settings"},
        DATABASE_URL=f"sqlite:///{settings.BASE_DIR / 'unused.sqlite3'}",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert message in result.stderr


def test_metrics_addresses_may_be_listed_with_spaces_after_the_commas():
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        {
            "METRICS_ALLOWED_ADDRESSES": "10.0.0.0/8, 127.0.0.1 ,::1",
            "SECRET_KEY": "x" * 50,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{settings.BASE_DIR / 'unused.sqlite3'}",
        }
    )

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; print(s.METRICS_ALLOWED_ADDRESSES)",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['10.0.0.0/8', '127.0.0.1', '::1']"

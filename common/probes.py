"""Endpoints for operators: liveness (/healthz), readiness (/readyz) and the Prometheus metrics (/metrics).

They are plain Django views, outside DRF: no authentication class runs (so a probe is never
counted as a refused authentication and never throttled), and none of them touches the session.
"""

import functools
import logging
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST

from common import counters, metrics

logger = logging.getLogger("envkeys.probes")

_NO_STORE = {"Cache-Control": "no-store"}
# While the database stays unreachable, the readiness probe's warning is logged once a minute per process.
WARNING_INTERVAL = 60
_last_warning = float("-inf")


def _method_not_allowed():
    return JsonResponse(
        {"code": "method_not_allowed", "detail": "Probes answer GET and HEAD only."},
        status=405,
        headers={"Allow": "GET, HEAD", **_NO_STORE},
    )


def _probe(view):
    """Let ``view`` answer GET and HEAD, and everything else a JSON 405: no CSRF check (no body is read)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request):
        if request.method not in ("GET", "HEAD"):
            return _method_not_allowed()
        return view(request)

    return wrapper


@_probe
def healthz(request):
    """Answer 200 while the process can answer at all: no database, no cache."""
    return JsonResponse({"status": "ok"}, headers=_NO_STORE)


@_probe
def readyz(request):
    """Answer 200 when the database answers ``SELECT 1`` within READINESS_TIMEOUT seconds, else 503.

    The cache's state is reported as well, but an unreachable cache does not make the instance
    unready: keys are checked against the database only, and the cache counters fail open.
    """
    check = _DatabaseCheck.start(DEFAULT_DB_ALIAS)
    cache_state = _cache_state()
    database_state = check.result(timeout=settings.READINESS_TIMEOUT)
    ready = database_state == "ok"
    body = {"status": "ready" if ready else "unready", "database": database_state, "cache": cache_state}
    return JsonResponse(body, status=200 if ready else 503, headers=_NO_STORE)


def _cache_state() -> str:
    """Return "ok" if the cache answers a read (bounded by CACHE_SOCKET_TIMEOUT for Redis), else "unavailable"."""
    return "ok" if counters.available() else "unavailable"


class _DatabaseCheck:
    """``SELECT 1`` on a fresh connection, in a thread of its own, waited for at most a timeout.

    A fresh connection, not the worker's kept one: connecting is bounded by ``connect_timeout``,
    and a query on a kept connection to a frozen server would block the worker with no bound at
    all. The thread makes the probe's answer bounded even when the server accepts the connection
    and then never answers. At most one check runs per process: while one is still stuck, the next
    probes wait on that same check (and answer "timeout") instead of starting another thread.
    """

    _lock = threading.Lock()
    _running: "_DatabaseCheck | None" = None

    def __init__(self, alias: str):
        self.alias = alias
        self.state = "timeout"
        self.done = threading.Event()

    @classmethod
    def start(cls, alias: str) -> "_DatabaseCheck":
        """Start a check, or return the one still running."""
        with cls._lock:
            if cls._running is not None and not cls._running.done.is_set():
                return cls._running
            check = cls(alias)
            cls._running = check
        threading.Thread(target=check._run, name="envkeys-readyz", daemon=True).start()
        return check

    def _run(self) -> None:
        try:
            wrapper = connections.create_connection(self.alias)
            try:
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
            finally:
                wrapper.close()
            self.state = "ok"
        except Exception as exc:
            _warn("Readiness check: the database did not answer (%s)", exc.__class__.__name__)
            self.state = "unavailable"
        finally:
            self.done.set()

    def result(self, *, timeout: float) -> str:
        """Return "ok", "unavailable", or "timeout" if the check has not finished within ``timeout`` seconds."""
        if not self.done.wait(timeout):
            return "timeout"
        return self.state


@csrf_exempt
def metrics_view(request):
    """Answer the metrics in the Prometheus text format to allowed scrapers; 404 to anyone else, whatever the method."""
    if not metrics.may_scrape(request):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed()
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST, headers=_NO_STORE)


def _warn(message: str, *args) -> None:
    """Log a readiness warning at most once per WARNING_INTERVAL in this process (probes come every second)."""
    global _last_warning
    now = time.monotonic()
    if now - _last_warning < WARNING_INTERVAL:
        return
    _last_warning = now
    logger.warning(message, *args)

"""Prometheus metrics: every metric envkeys exposes is defined here, with the helpers that count.

The metrics use ``prometheus_client``. Under gunicorn with several workers the library's
multiprocess mode sums them over all workers: ``PROMETHEUS_MULTIPROC_DIR`` names a directory the
workers write their values to, set up and cleaned by ``config/gunicorn.py`` (see the deployment
page). No label ever holds an access key, an address or a path: every label value comes from a
small fixed set (outcomes, states, audit actions, URL names, methods, status codes).

Counting is cheap on the key path: the labelled children that a request touches are created once
at import, so a count is one increment of a float (in a shared memory-mapped file in multiprocess
mode).
"""

import functools
import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from common.actor import client_address

# --- Requests ---------------------------------------------------------------------------------

REQUESTS = Counter(
    "envkeys_http_requests",
    "HTTP requests answered, by URL name, method and status code.",
    ["route", "method", "status"],
)
REQUEST_DURATION = Histogram(
    "envkeys_http_request_duration_seconds",
    "Time to answer an HTTP request (from the first middleware to the response), by URL name and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- Key authentication -----------------------------------------------------------------------

# The outcomes of a request that presented an API key: success, the KeyRefused codes of
# apikeys.usage, and throttled (refused by apikeys.limits before or after the check).
KEY_OUTCOMES = ("success", "authentication_failed", "key_inactive", "key_expired", "throttled")
KEY_AUTHENTICATIONS = Counter(
    "envkeys_key_authentications",
    "Requests that presented an environment API key, by outcome.",
    ["outcome"],
)
_KEY_OUTCOME = {outcome: KEY_AUTHENTICATIONS.labels(outcome=outcome) for outcome in KEY_OUTCOMES}

LAST_USED_RESULTS = ("written", "skipped", "failed")
LAST_USED_WRITES = Counter(
    "envkeys_last_used_writes",
    "Last-used writes that were due: written, skipped (the row was busy or another worker wrote "
    "first) or failed (a database error).",
    ["result"],
)
_LAST_USED = {result: LAST_USED_WRITES.labels(result=result) for result in LAST_USED_RESULTS}

# --- Audit log, cache, database ---------------------------------------------------------------

AUDIT_EVENTS = Counter("envkeys_audit_events", "Audit events written (committed), by action.", ["action"])
CACHE_ERRORS = Counter("envkeys_cache_errors", "Cache operations that raised an error (the cache is unreachable).")
DATABASE_UNAVAILABLE = Counter(
    "envkeys_database_unavailable", "Requests answered 503 because the database could not be reached."
)
KEY_COUNT_FAILURES = Counter(
    "envkeys_key_count_failures", "Scrapes whose key counts could not be refreshed (the last ones were reported)."
)


# The labelled children each request needs, found by a dict lookup rather than ``labels()`` (which
# checks and locks on every call): there are few, since every label value comes from a fixed set.
_request_children: dict[tuple[str, str, int], tuple] = {}


def count_request(*, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    children = _request_children.get((route, method, status))
    if children is None:
        children = (REQUESTS.labels(route, method, str(status)), REQUEST_DURATION.labels(route, method))
        _request_children[(route, method, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def count_key_authentication(outcome: str) -> None:
    """Count the outcome of a request that presented an API key (one of ``KEY_OUTCOMES``)."""
    _KEY_OUTCOME[outcome].inc()


def count_last_used_write(result: str) -> None:
    """Count a due last-used write: ``written``, ``skipped`` or ``failed``."""
    _LAST_USED[result].inc()


def count_audit_event(action: str) -> None:
    """Count an audit event once its transaction has committed."""
    AUDIT_EVENTS.labels(action=action).inc()


def count_cache_error() -> None:
    """Count a cache operation that raised (a cache that cannot be reached, or that timed out)."""
    CACHE_ERRORS.inc()


def count_database_unavailable() -> None:
    """Count a request answered 503 because the database could not be reached."""
    DATABASE_UNAVAILABLE.inc()


# --- Counts of keys by state ------------------------------------------------------------------


class StateCounts(Collector):
    """Report ``envkeys_api_keys{state=...}`` from a counting function, counted at most once per period.

    ``count`` returns ``{state: number}``; it runs in the process that answers the scrape and its
    result is kept for ``METRICS_KEY_COUNTS_SECONDS``, so scraping every few seconds costs one
    aggregate query a minute, not one per scrape. A failing count keeps the last known values.
    """

    def __init__(self, count: Callable[[], dict[str, int]]):
        self._count = count
        self._values: dict[str, int] = {}
        self._taken = float("-inf")
        self._lock = threading.Lock()

    def collect(self):
        """Yield the gauge of keys by state, counted again if the last count is too old."""
        with self._lock:
            if time.monotonic() - self._taken >= settings.METRICS_KEY_COUNTS_SECONDS:
                try:
                    self._values = self._count()
                except Exception:
                    # A scrape must not fail because the database is down: report the last counts.
                    KEY_COUNT_FAILURES.inc()
                self._taken = time.monotonic()
            values = dict(self._values)
        gauge = GaugeMetricFamily("envkeys_api_keys", "Environment API keys by state.", labels=["state"])
        for state, number in sorted(values.items()):
            gauge.add_metric([state], number)
        yield gauge


_state_counts: list[StateCounts] = []


def report_key_states(count: Callable[[], dict[str, int]]) -> None:
    """Report the counts of keys by state that ``count`` returns (called once, by the apikeys app)."""
    _state_counts[:] = [StateCounts(count)]


def multiprocess() -> bool:
    """Return whether the metrics are shared between worker processes (PROMETHEUS_MULTIPROC_DIR is set).

    ``prometheus_client`` reads that variable itself when a metric is created, so it is read here
    from the environment too rather than from a Django setting that could disagree with it.
    """
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition() -> bytes:
    """Return every metric in the Prometheus text format: summed over all workers in multiprocess mode."""
    registry = CollectorRegistry()
    if multiprocess():
        prometheus_multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    for collector in _state_counts:
        registry.register(collector)
    return generate_latest(registry)


class _Default(Collector):
    """The process's own registry (its metrics plus the process and platform collectors)."""

    def collect(self):
        yield from REGISTRY.collect()


# --- Who may scrape ---------------------------------------------------------------------------


@functools.cache
def _networks(addresses: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(address, strict=False) for address in addresses)


def may_scrape(request) -> bool:
    """Return whether this request may read the metrics.

    Allowed: a request with ``Authorization: Bearer <METRICS_BEARER_TOKEN>`` (when that setting is
    set), or one whose client address (``common.actor.client_address``) is in
    ``METRICS_ALLOWED_ADDRESSES`` (addresses or networks; loopback only by default).
    """
    token = settings.METRICS_BEARER_TOKEN
    if token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_ADDRESSES)))

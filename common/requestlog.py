"""Per-request plumbing for operations: the request id, request metrics, the request log line, JSON logs.

``RequestMiddleware`` runs first. It gives each request an id (the ``X-Request-Id`` of a trusted
proxy, or a new one), answers it in the ``X-Request-Id`` response header, counts the request and
its duration in ``common.metrics`` and logs one line for it (``envkeys.request``, INFO). While the
request runs, the id and the access key it presented (``note_access_key``, called by the key
authentication) are in context variables that ``RequestContextFilter`` adds to every log record of
that request. ``JsonFormatter`` writes a record as one JSON object on one line, with a fixed set
of fields, so that no attribute a library attaches to a record (SQL parameters, the request
object with its headers) is ever printed.
"""

import contextvars
import logging
import re
import secrets
import time

from django.conf import settings
from pythonjsonlogger import json as jsonlogger

from common import metrics
from common.actor import client_address

logger = logging.getLogger("envkeys.request")

REQUEST_ID_HEADER = "X-Request-Id"
# What a proxy's id may look like (nginx's $request_id, a UUID, a trace id): anything else is
# replaced by a new id, so that a client cannot write arbitrary text into the logs.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}\Z")
# Methods outside this set are counted as "other": a label must not take any value a client sends.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Asked every few seconds by load balancers and Prometheus: counted, but not logged line by line.
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})

# Characters that would start a new line (or a terminal escape) in a text log: shown escaped, so a
# path cannot forge a line of its own.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_NO_REQUEST = "-"
_request_id = contextvars.ContextVar("envkeys_request_id", default=_NO_REQUEST)
_access_key = contextvars.ContextVar("envkeys_access_key", default="")


def note_access_key(access_key: str) -> None:
    """Remember, for this request's log records, the access key it presented (never a secret).

    The caller passes only a string with an access key's shape, so that a secret typed in the
    wrong place is never logged. Outside a request (``RequestMiddleware`` resets it after each
    one) nothing is remembered, so no later record is labelled with a key it has nothing to do with.
    """
    if _request_id.get() != _NO_REQUEST:
        _access_key.set(access_key)


def current_request_id() -> str:
    """Return the id of the request being served ("-" outside a request)."""
    return _request_id.get()


def _incoming_request_id(request) -> str:
    """Return the trusted proxy's X-Request-Id when there is one (TRUSTED_PROXY_COUNT > 0), else a new id."""
    if settings.TRUSTED_PROXY_COUNT > 0:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        if _REQUEST_ID.match(incoming):
            return incoming
    return secrets.token_hex(16)


class RequestMiddleware:
    """Give the request an id, answer it in X-Request-Id, count the request and log one line for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = _incoming_request_id(request)
        id_token = _request_id.set(request_id)
        key_token = _access_key.set("")
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            seconds = time.perf_counter() - started
            match = request.resolver_match
            route = match.view_name if match is not None else "unresolved"
            method = request.method if request.method in _METHODS else "other"
            metrics.count_request(route=route, method=method, status=response.status_code, seconds=seconds)
            if settings.LOG_REQUESTS and route not in _QUIET_ROUTES:
                duration_ms = round(seconds * 1000, 1)
                path = _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", request.path)
                logger.info(
                    "%s %s %s %.1fms",
                    method,
                    path,
                    response.status_code,
                    duration_ms,
                    extra={
                        "method": method,
                        "path": path,
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                        "client": client_address(request),
                    },
                )
            return response
        finally:
            _access_key.reset(key_token)
            _request_id.reset(id_token)


class QuietProbesFilter(logging.Filter):
    """Drop Django's own line for a probe's or /metrics' answer (a 503 from /readyz every second while
    the database is down): the probe says what it knows, and its warning is logged once a minute."""

    def filter(self, record):
        match = getattr(getattr(record, "request", None), "resolver_match", None)
        return match is None or match.view_name not in _QUIET_ROUTES


class RequestContextFilter(logging.Filter):
    """Add ``request_id`` and ``access_key`` (empty when none was presented) to every record."""

    def filter(self, record):
        record.request_id = _request_id.get()
        record.access_key = _access_key.get()
        return True


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object per line with a fixed set of fields; no other attribute of a record is written.

    Always: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``request_id``. When
    present: ``access_key``, the request line's ``method``, ``path``, ``route``, ``status``,
    ``duration_ms``, ``client``, and ``exc_info`` for a traceback.
    """

    FIELDS = (
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "access_key",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "client",
        "exc_info",
        "stack_info",
    )

    def __init__(self, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__("%(levelname)s %(name)s %(message)s", **kwargs)

    def process_log_record(self, log_data):
        """Keep only the fields listed in FIELDS (and drop an empty access key)."""
        kept = {field: log_data[field] for field in self.FIELDS if field in log_data}
        if not kept.get("access_key"):
            kept.pop("access_key", None)
        return kept

"""JSON errors for the API: the exception handler of every endpoint, and the error pages under /api/.

Every error under /api/ is JSON of the form ``{"code": "...", "detail": "..."}``; validation
errors add ``errors`` (field -> messages). ``code`` is stable and meant for scripts.
"""

import logging
import sys
from collections.abc import Mapping
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFilesSent
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.html import escape
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from common import metrics
from common.errors import DomainError

logger = logging.getLogger("envkeys.api")

# How each domain error code maps onto HTTP.
DOMAIN_STATUS = {
    "invalid_state": status.HTTP_409_CONFLICT,
    "last_owner": status.HTTP_409_CONFLICT,
    "already_member": status.HTTP_409_CONFLICT,
    "name_taken": status.HTTP_409_CONFLICT,
    "already_mapped": status.HTTP_409_CONFLICT,
    "no_direct_role": status.HTTP_409_CONFLICT,
    "not_found": status.HTTP_404_NOT_FOUND,
    "authentication_failed": status.HTTP_401_UNAUTHORIZED,
    "key_inactive": status.HTTP_401_UNAUTHORIZED,
    "key_expired": status.HTTP_401_UNAUTHORIZED,
    # Forward authentication (apikeys.forward_auth): a usable key that may not make this request.
    "not_authenticated": status.HTTP_401_UNAUTHORIZED,
    "wrong_environment": status.HTTP_403_FORBIDDEN,
    "permission_denied": status.HTTP_403_FORBIDDEN,
}

FILES_REFUSED = "File uploads are not accepted: send JSON or form fields."
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."
DATABASE_RETRY_AFTER = "5"


class RequestTooLarge(exceptions.APIException):
    """The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _validation_code(detail) -> str:
    codes = set()

    def collect(value):
        if isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        else:
            codes.add(getattr(value, "code", "invalid"))

    collect(detail)
    return codes.pop() if len(codes) == 1 else "invalid"


def _error(code: str, detail: str, **extra) -> dict:
    return {"code": code, "detail": detail, **extra}


def exception_handler(exc, context):
    """Answer every exception raised in an API view with a JSON error body."""
    if isinstance(exc, DomainError):
        set_rollback()
        body = _error(exc.code, exc.message)
        if exc.field:
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=DOMAIN_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, TooManyFilesSent):
        exc = exceptions.ParseError(FILES_REFUSED, code="file_upload_refused")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("Bad request.", code="bad_request")

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        detail = exc.detail if isinstance(exc.detail, (dict, list)) else [exc.detail]
        if isinstance(detail, list):
            detail = {"non_field_errors": detail}
        first_field, messages = next(iter(detail.items()))
        message = messages[0] if isinstance(messages, list) and messages else "Invalid input."
        return Response(
            _error(_validation_code(detail), f"{first_field}: {message}", errors=detail),
            status=exc.status_code,
        )

    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        code = exc.get_codes()
        detail = exc.detail
        if isinstance(detail, (dict, list)):
            return Response(_error("invalid", "Invalid input.", errors=detail), status=exc.status_code, headers=headers)
        return Response(
            _error(code if isinstance(code, str) else "error", str(detail)),
            status=exc.status_code,
            headers=headers,
        )

    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("Database unavailable while serving %s", context["request"].path, exc_info=exc)
        return database_unavailable(context["request"])
    if isinstance(exc, DatabaseError):
        logger.error("Database error while serving %s", context["request"].path, exc_info=exc)
    else:
        logger.error("Unhandled error while serving %s", context["request"].path, exc_info=exc)
    return Response(_error("server_error", "Internal server error."), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def handler400(request, exception=None):
    """Answer a bad request: JSON under /api/, the dashboard's page elsewhere."""
    if _is_api(request):
        if isinstance(exception, TooManyFilesSent):
            return JsonResponse(_error("file_upload_refused", FILES_REFUSED), status=400)
        return JsonResponse(_error("bad_request", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    """Answer a forbidden request: JSON under /api/, the dashboard's page elsewhere."""
    if _is_api(request):
        return JsonResponse(_error("permission_denied", "You do not have permission to do this."), status=403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    """Answer a failed CSRF check: JSON under /api/, the dashboard's "form expired" page elsewhere."""
    if _is_api(request):
        return JsonResponse(_error("csrf_failed", f"CSRF check failed: {reason}"), status=403)
    return csrf.csrf_failure(request, reason)


def handler404(request, exception=None):
    """Answer an unknown URL: JSON under /api/, the dashboard's page elsewhere."""
    if _is_api(request):
        return JsonResponse(_error("not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Answer a URL under /api/ that no endpoint matches with a JSON 404, DEBUG or not.

    A GET for an endpoint's URL without its trailing slash is redirected, as APPEND_SLASH would;
    any other method is told about the slash instead, because a redirect would lose its body.
    """
    with_slash = request.path_info + "/"
    if not request.path_info.endswith("/") and _is_endpoint(with_slash):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
        return JsonResponse(_error("not_found", f"Not found. API URLs end with a slash: {request.path}/"), status=404)
    return JsonResponse(_error("not_found", "Not found."), status=404)


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).url_name != "not-found"
    except Resolver404:
        return False


def database_unavailable(request):
    """Answer 503 because the database cannot be reached: JSON under /api/, a plain page elsewhere.

    Every such answer, from an API view or from anywhere else (``handler500``), is made here.

    The page renders no template: templates may ask for the signed-in user, which needs the database.
    """
    metrics.count_database_unavailable()
    if _is_api(request):
        response = JsonResponse(_error("database_unavailable", DATABASE_UNAVAILABLE), status=503)
    else:
        response = HttpResponse(
            "<!doctype html><html><head><title>Service unavailable</title></head><body>"
            f"<h1>Service unavailable</h1><p>{DATABASE_UNAVAILABLE}</p></body></html>",
            status=503,
        )
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


def request_refused(request, *, status: int, code: str, detail: str):
    """Answer a request refused before any view ran: JSON under /api/, a plain page elsewhere."""
    if _is_api(request):
        return JsonResponse(_error(code, detail), status=status)
    title = escape(HTTPStatus(status).phrase)
    return HttpResponse(
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<h1>{title}</h1><p>{escape(detail)}</p></body></html>",
        status=status,
    )


def handler500(request):
    """Answer an unhandled error: JSON under /api/, the dashboard's page elsewhere.

    Django calls this while it handles the exception, also one raised in middleware or in a view
    outside DRF, so the exception is still ``sys.exc_info()``: a database that cannot be reached
    is answered 503 there too.
    """
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse(_error("server_error", "Internal server error."), status=500)
    return defaults.server_error(request)

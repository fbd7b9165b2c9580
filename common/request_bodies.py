"""Request bodies this server will read: every body within DATA_UPLOAD_MAX_MEMORY_SIZE, and none it cannot measure.

Django reads a body only as far as its ``Content-Length`` says, and reads nothing when there is
none: a chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) would reach the view
as an empty body, and the view would act on that instead of what was sent. Django's size limit
also covers only what it loads into memory: a multipart body's file parts get past it. So, before
anything reads the body:

- a request with a ``Transfer-Encoding`` header (a chunked body, whose length is known only once
  it has all been read) is refused with 411 ``length_required``: a proxy in front that buffers
  bodies sends them on with a ``Content-Length`` instead;
- a body whose ``Content-Length`` is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413
  ``request_too_large``, whatever its content type.

File parts in a multipart body within the limit are refused by Django itself
(``DATA_UPLOAD_MAX_NUMBER_FILES = 0``) before their content is read: 400 ``file_upload_refused``.
"""

from django.conf import settings

from common.api.errors import RequestTooLarge, request_refused

LENGTH_REQUIRED = "Send the request body with a Content-Length header; chunked request bodies are not accepted."


def _content_length(meta) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class RequestBodyMiddleware:
    """Refuse, before it is read, a body of unknown length (411) or one over the size limit (413)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        """Answer the request, or refuse its body unread."""
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return request_refused(request, status=411, code="length_required", detail=LENGTH_REQUIRED)
        length = _content_length(request.META)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length is not None and length > limit:
            return request_refused(request, status=413, code="request_too_large", detail=RequestTooLarge.default_detail)
        return self.get_response(request)

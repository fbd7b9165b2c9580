"""The OpenAPI schema: drf-spectacular's AutoSchema plus the JSON error answers of each operation."""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer under /api/."""

    code = serializers.CharField(help_text="Stable, machine-readable error code, e.g. `not_found`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: field name to messages.",
    )


# The error answers an operation can give, by what it is: every one, one that takes a body, one
# that changes something.
_ANY_ERRORS = {
    400: "Invalid input or query parameter: `errors` names each one at fault.",
    401: "No credentials, wrong credentials, or an inactive or expired key.",
    403: "Not allowed to do this.",
    404: "No such thing, or not visible to you.",
    406: "The Accept header asks for something other than JSON.",
    429: "Too many failed authentications: try again after Retry-After seconds.",
    503: "The database is unavailable: try again shortly.",
}
_BODY_ERRORS = {
    411: "The request body was sent chunked, without a Content-Length.",
    413: "The request body is too large.",
    415: "The request body is not JSON (or a form).",
}
_CHANGE_ERRORS = {409: "The action does not apply in the current state (e.g. delete an active key)."}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, also documenting the JSON error answers of each operation."""

    def _get_response_bodies(self, direction="response"):
        # drf-spectacular's hook for the responses of one operation (private, but the only one
        # that sees the default success code); the fuzz test pins the outcome.
        responses = super()._get_response_bodies(direction)
        errors = dict(_ANY_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors.update(_CHANGE_ERRORS)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            errors.update(_BODY_ERRORS)
        for status_code, description in sorted(errors.items()):
            response = OpenApiResponse(ErrorSerializer, description=description)
            responses.setdefault(str(status_code), self._get_response_for_code(response, str(status_code)))
        return responses

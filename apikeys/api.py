"""REST API for an environment's API keys: thin viewset over services and selectors."""

from django.http import Http404, HttpResponse
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys import forward_auth, selectors, services
from apikeys.authentication import ForwardedApiKeyAuthentication
from apikeys.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeyFilterSerializer,
    ApiKeySerializer,
    ApiKeyUpdateSerializer,
)
from common.access import PassesAccessControl
from common.actor import client_address
from environments.api import EnvironmentScopedMixin
from environments.permissions import CanManageKeys


class ApiKeyViewSet(EnvironmentScopedMixin, viewsets.GenericViewSet):
    """Environment API keys: create (the secret is in that response only), edit, (de)activate, delete."""

    serializer_class = ApiKeySerializer
    permission_classes = [PassesAccessControl, CanManageKeys]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.keys_of_environment(environment=self.environment)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "kwargs", None) and "environment_pk" in self.kwargs:
            context["can_manage"] = self.environment_access.manage_keys
        return context

    def get_object(self):
        key = selectors.key_in_environment(environment=self.environment, key_id=int(self.kwargs["pk"]))
        if key is None:
            raise Http404
        key.environment = self.environment
        return key

    def _respond(self, key, *, http_status=status.HTTP_200_OK):
        return Response(ApiKeySerializer(key, context=self.get_serializer_context()).data, status=http_status)

    @extend_schema(parameters=[ApiKeyFilterSerializer])
    def list(self, request, *args, **kwargs):
        """List the environment's keys, newest first; ``?state=`` and ``?created_by=USERNAME`` filter them."""
        filters = ApiKeyFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        keys = selectors.keys_of_environment(
            environment=self.environment,
            state=filters.validated_data.get("state"),
            created_by=filters.validated_data.get("created_by"),
        )
        page = self.paginate_queryset(keys)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    @sensitive_variables("secret", "context")
    def create(self, request, *args, **kwargs):
        """Create a key. The response holds the secret key: it is never shown again."""
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, secret = services.create_api_key(
            environment=self.environment, actor=self.actor, **serializer.validated_data
        )
        key.environment = self.environment
        context = {**self.get_serializer_context(), "secret_key": secret}
        response = Response(ApiKeyCreatedSerializer(key, context=context).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response

    def retrieve(self, request, *args, **kwargs):
        """Show one key (never its secret)."""
        return self._respond(self.get_object())

    @extend_schema(request=ApiKeyUpdateSerializer, responses={200: ApiKeySerializer})
    def partial_update(self, request, *args, **kwargs):
        """Change the key's name and/or description; nothing else can change."""
        key = self.get_object()
        serializer = ApiKeyUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.update_api_key(key=key, actor=self.actor, **serializer.validated_data)
        return self._respond(key)

    @extend_schema(request=ApiKeyUpdateSerializer, responses={200: ApiKeySerializer})
    def update(self, request, *args, **kwargs):
        """Replace the key's name and description."""
        key = self.get_object()
        serializer = ApiKeyUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.update_api_key(
            key=key,
            name=serializer.validated_data.get("name", ""),
            description=serializer.validated_data.get("description", ""),
            actor=self.actor,
        )
        return self._respond(key)

    def destroy(self, request, *args, **kwargs):
        """Delete an inactive key (an active key answers 409: deactivate it first)."""
        services.delete_api_key(key=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, *args, **kwargs):
        """Deactivate an active key: it is refused from the very next request on."""
        return self._respond(services.deactivate_api_key(key=self.get_object(), actor=self.actor))

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, *args, **kwargs):
        """Activate an inactive key again."""
        return self._respond(services.activate_api_key(key=self.get_object(), actor=self.actor))


class JSONOnly(BaseContentNegotiation):
    """Answer JSON whatever the Accept header asks for: it is the protected service's client's, not ours."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuthorizeView(APIView):
    """Forward authentication for reverse proxies: may the request the proxy holds go on to its service?

    nginx ``auth_request``, Caddy ``forward_auth`` and Traefik ``ForwardAuth`` send the client's
    ``Authorization`` header here with where the request was going (``X-Forwarded-Method``,
    ``X-Forwarded-Uri``, ``X-Forwarded-Host``, ``X-Forwarded-Proto``, or nginx's
    ``X-Original-Method`` and ``X-Original-URI``). Allowed: 200, an empty body, and the
    ``X-Envkeys-*`` identity headers for the proxy to copy to the service. Refused: the API's JSON
    errors (401 with the Basic challenge, 403 ``wrong_environment`` or ``permission_denied``, 429
    with Retry-After). Every method is accepted, as nginx's subrequest keeps the client's; the body
    is never read. Under ``/environments/{id}/`` only keys of that environment pass; without an
    environment in the URL any usable key passes. See docs/forward-auth.md.
    """

    authentication_classes = [ForwardedApiKeyAuthentication]
    permission_classes = [PassesAccessControl]
    # The client's Accept header arrives too (a browser asking for an image): errors are JSON whatever it says.
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    @extend_schema(
        # The same key pair, checked the same way, as ApiKeyAuthentication (apikeys.schema describes it).
        auth=[{"environmentApiKey": []}],
        request=None,
        responses={200: OpenApiResponse(description="Allowed: an empty body and the X-Envkeys-* identity headers.")},
    )
    def get(self, request, environment_pk: str | None = None, format=None):
        """Answer whether the forwarded request may go on: 200 with identity headers, or a JSON error."""
        grant = forward_auth.authorize(
            actor=request.user,
            environment_id=int(environment_pk) if environment_pk is not None else None,
            target=forward_auth.forwarded_request(request),
            address=client_address(request),
        )
        response = HttpResponse(status=status.HTTP_200_OK, headers=forward_auth.identity_headers(grant))
        del response["Content-Type"]  # no body, so no type (Django would say text/html)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        """Name a refusal's code in ``X-Envkeys-Error``, and send no ``Allow`` header.

        nginx's ``auth_request`` never reads an answer's body, so the shipped nginx configuration
        builds the client's JSON error from this header. A proxy passes refusals on to its client,
        whose service allows what it allows: hence no ``Allow``.
        """
        response = super().finalize_response(request, response, *args, **kwargs)
        response.headers.pop("Allow", None)
        data = getattr(response, "data", None)
        code = data.get("code") if response.status_code >= 400 and isinstance(data, dict) else None
        if code:
            response["X-Envkeys-Error"] = code
        return response

    # Every method asks the same question: nginx's subrequest keeps the client's method, and a
    # method Django does not name (WebDAV's PROPFIND) reaches http_method_not_allowed.
    post = put = patch = delete = head = options = http_method_not_allowed = get

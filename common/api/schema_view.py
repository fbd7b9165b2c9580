"""The view that serves the OpenAPI schema (a module of its own: DRF imports ``schema`` while its views load)."""

from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """The schema at /api/v1/schema/ (YAML, or JSON on request), whose errors are JSON like every error under /api/.

    drf-spectacular renders whatever the view answers with the negotiated renderer, YAML by
    default, and with its first renderer when negotiation itself fails (``?format=xml``).
    """

    def initial(self, request, *args, **kwargs):
        """Refuse a ``version`` parameter (404), which drf-spectacular would print into the schema.

        The API has one version, named in its path (/api/v1/); the schema says so itself.
        """
        super().initial(request, *args, **kwargs)
        if "version" in request.query_params:
            raise NotFound("The schema takes no version parameter: this server serves one API version, at /api/v1/.")

    def finalize_response(self, request, response, *args, **kwargs):
        """Render an error answer as JSON, whatever renderer the request asked for."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and getattr(response, "exception", False):
            renderer = JSONRenderer()
            response.accepted_renderer = renderer
            response.accepted_media_type = renderer.media_type
        return response

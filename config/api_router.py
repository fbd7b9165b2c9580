"""The /api/v1/ URL space: the API root, the environment endpoints and the schema."""

from django.conf import settings
from django.urls import include, path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import routers, serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apikeys.api import ApiKeyViewSet, AuthorizeView
from common.access import ACCESS_CONTROL_OFF
from common.actor import api_key_of
from common.api.schema_view import SchemaView
from environments.api import AuditEventViewSet, EnvironmentViewSet, GroupMappingViewSet, MembershipViewSet
from environments.serializers import environment_url


class ApiRoot(APIView):
    """The API root: links to every part of the API, and to your key's environment endpoint."""

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            fields={
                "type": serializers.CharField(),
                "version": serializers.CharField(),
                "access_control": serializers.BooleanField(),
                "warning": serializers.CharField(required=False, help_text="Present when access control is off."),
                "links": serializers.DictField(child=serializers.URLField()),
            },
        )
    )
    def get(self, request, format=None):
        links = {
            "environments": reverse("api:environment-list", request=request, format=format),
            "schema": reverse("api:schema", request=request),
        }
        key = api_key_of(request.user)
        if key is not None:
            links["environment"] = environment_url(key.environment_id, request)
        body = {"type": "apiRoot", "version": "v1", "access_control": settings.ACCESS_CONTROL, "links": links}
        if not settings.ACCESS_CONTROL:
            body["warning"] = ACCESS_CONTROL_OFF
        return Response(body)


router = routers.SimpleRouter()
router.register("environments", EnvironmentViewSet, basename="environment")
router.register(r"environments/(?P<environment_pk>[0-9]+)/apikeys", ApiKeyViewSet, basename="apikey")
router.register(r"environments/(?P<environment_pk>[0-9]+)/members", MembershipViewSet, basename="member")
router.register(r"environments/(?P<environment_pk>[0-9]+)/events", AuditEventViewSet, basename="event")
router.register(r"environments/(?P<environment_pk>[0-9]+)/groups", GroupMappingViewSet, basename="group-mapping")

app_name = "api"
urlpatterns = [
    path("", ApiRoot.as_view(), name="root"),
    path("schema/", SchemaView.as_view(), name="schema"),
    # Forward authentication for reverse proxies (docs/forward-auth.md).
    path("authorize/", AuthorizeView.as_view(), name="authorize"),
    path("environments/<int:environment_pk>/authorize/", AuthorizeView.as_view(), name="environment-authorize"),
    path("", include(router.urls)),
]

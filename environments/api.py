"""REST API for environments and their members: thin viewsets over services and selectors."""

from functools import cached_property

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from common.access import PassesAccessControl
from common.actor import Actor
from common.audit.models import AuditAction
from common.audit.refusals import settle_refusals
from environments import selectors, services
from environments.permissions import (
    CanCreateEnvironment,
    CanDeleteEnvironment,
    CanEditEnvironment,
    CanManageMembers,
    CanViewEvents,
)
from environments.serializers import (
    AuditEventFilterSerializer,
    AuditEventSerializer,
    EnvironmentSerializer,
    GroupMappingSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
)


class ActorMixin:
    """For every viewset: who makes the request and from where, built once per request for the services."""

    @cached_property
    def actor(self) -> Actor:
        """Return the request's actor (authentication has run by the time a handler asks)."""
        return Actor.of(self.request)


class EnvironmentScopedMixin(ActorMixin):
    """For endpoints under /environments/{environment_pk}/: the environment and what the actor may do."""

    @cached_property
    def environment(self):
        """Return the environment named in the URL, or raise 404 if the actor may not see it."""
        environment = selectors.visible_environment(
            actor=self.request.user, environment_id=int(self.kwargs["environment_pk"])
        )
        if environment is None:
            raise Http404
        return environment

    @cached_property
    def environment_access(self) -> selectors.Access:
        """Return what the actor may do in the environment."""
        return selectors.access_for(actor=self.request.user, environment=self.environment)


class EnvironmentViewSet(ActorMixin, viewsets.ModelViewSet):
    """Environments: each one is an API endpoint with its own keys.

    A key sees only its own environment. Signed-in users see the environments they belong to.
    """

    serializer_class = EnvironmentSerializer
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_permissions(self):
        extra = {
            "create": [CanCreateEnvironment],
            "update": [CanEditEnvironment],
            "partial_update": [CanEditEnvironment],
            "destroy": [CanDeleteEnvironment],
        }.get(self.action, [])
        return [PassesAccessControl(), *(permission() for permission in extra)]

    def get_queryset(self):
        return selectors.environments_visible_to(actor=self.request.user).order_by("name")

    def get_object(self):
        environment = selectors.visible_environment(actor=self.request.user, environment_id=int(self.kwargs["pk"]))
        if environment is None:
            raise Http404
        self.check_object_permissions(self.request, environment)
        return environment

    def options(self, request, *args, **kwargs):
        """Describe the endpoint; an environment the actor may not see is a 404, as for every other method."""
        if "pk" in kwargs:
            self.get_object()
        return super().options(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.instance = services.create_environment(
            owner=self.actor.user, actor=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.update_environment(environment=serializer.instance, actor=self.actor, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_environment(environment=instance, actor=self.actor)


class MembershipViewSet(
    EnvironmentScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """An environment's members: owners add, re-role and remove them; it always keeps one owner."""

    serializer_class = MembershipSerializer
    permission_classes = [PassesAccessControl, CanManageMembers]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.members_of(environment=self.environment)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.add_member(
            environment=self.environment,
            username=serializer.validated_data["user"]["username"],
            role=serializer.validated_data["role"],
            actor=self.actor,
        )
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses={200: MembershipSerializer})
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.change_member_role(
            membership=membership,
            role=serializer.validated_data["role"],
            actor=self.actor,
        )
        return Response(self.get_serializer(membership).data)

    def perform_destroy(self, instance):
        services.remove_member(membership=instance, actor=self.actor)


class GroupMappingViewSet(
    EnvironmentScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Provider groups mapped to roles: owners add and remove them; people's roles follow at each sign-in."""

    serializer_class = GroupMappingSerializer
    permission_classes = [PassesAccessControl, CanManageMembers]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.group_mappings_of(environment=self.environment)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = services.add_group_mapping(
            environment=self.environment, actor=self.actor, **serializer.validated_data
        )
        return Response(self.get_serializer(mapping).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.remove_group_mapping(mapping=instance, actor=self.actor)


class AuditEventViewSet(EnvironmentScopedMixin, viewsets.ReadOnlyModelViewSet):
    """An environment's audit log, newest first: changes and summaries of refused authentications.

    Read-only. Whoever may see the environment may read it, its API keys included (keys are not
    shown member events, as they never see members).
    """

    serializer_class = AuditEventSerializer
    permission_classes = [PassesAccessControl, CanViewEvents]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        filters = AuditEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.events_of(
            environment=self.environment, action=filters.validated_data.get("action"), actor=self.request.user
        )

    @extend_schema(
        parameters=[OpenApiParameter("action", enum=AuditAction.values, description="Only events of this action.")]
    )
    def list(self, request, *args, **kwargs):
        """List the environment's audit events, newest first."""
        settle_refusals(environment=self.environment)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        """Show one audit event."""
        return super().retrieve(request, *args, **kwargs)

"""API representations of environments and memberships."""

from rest_framework import serializers

from common.actor import api_key_of
from common.api.links import links_for
from common.api.serializers import StrictFieldsMixin
from common.audit.models import AuditAction, AuditEvent
from common.errors import max_length
from environments.models import Environment, GroupMapping, Membership, Role

# The collections nested under an environment's URL: their link names are the router's prefixes
# (config/api_router.py), and tests/common/test_links.py checks them against DRF's reverse.
NESTED = ("apikeys", "members", "groups", "events")


def environment_url(environment_id: int, request) -> str:
    """Return the absolute URL of an environment's API endpoint."""
    return links_for(request).item("api:environment-list", environment_id)


def member_url(membership: Membership, request) -> str:
    """Return the absolute URL of a membership in the API."""
    return links_for(request).item("api:member-list", membership.pk, environment_pk=membership.environment_id)


def environment_links(environment_id: int, request) -> dict:
    """Return the absolute URLs of every part of the API for one environment that the requester may use.

    Keys never see members or group mappings, so a key's view of its environment has no
    ``members`` or ``groups`` link.
    """
    links = {"self": environment_url(environment_id, request)}
    for name in NESTED:
        links[name] = links_for(request).item("api:environment-list", environment_id, name)
    # Forward authentication for services of this environment (docs/forward-auth.md).
    links["authorize"] = links_for(request).item("api:environment-list", environment_id, "authorize")
    if api_key_of(getattr(request, "user", None)) is not None:
        del links["members"], links["groups"]
    return links


class EnvironmentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An environment: its API endpoint, with links to every part of it."""

    type = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    name = serializers.CharField(max_length=max_length(Environment, "name"))

    class Meta:
        model = Environment
        fields = ["id", "type", "name", "description", "created_at", "links"]
        read_only_fields = ["id", "created_at"]

    def get_type(self, obj) -> str:
        return "environment"

    def get_links(self, obj) -> dict[str, str]:
        return environment_links(obj.pk, self.context["request"])


class MembershipSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A user's role in an environment."""

    type = serializers.SerializerMethodField()
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    direct_role = serializers.CharField(
        read_only=True,
        allow_null=True,
        source="direct_role_or_none",
        help_text="The role an owner gave directly; null if none.",
    )
    group_role = serializers.CharField(
        read_only=True,
        allow_null=True,
        source="group_role_or_none",
        help_text="The role from the user's provider groups at their last sign-in; null if none.",
    )
    groups = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The mapped groups that give ``group_role``."
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "type", "username", "role", "direct_role", "group_role", "groups", "created_at", "links"]
        read_only_fields = ["id", "direct_role", "group_role", "groups", "created_at"]

    def get_type(self, obj) -> str:
        return "member"

    def get_links(self, obj) -> dict[str, str]:
        request = self.context["request"]
        return {
            "self": member_url(obj, request),
            "environment": environment_url(obj.environment_id, request),
        }


class MembershipRoleSerializer(StrictFieldsMixin, serializers.Serializer):
    """Input for changing a member's role."""

    immutable_fields = {"username": "A membership's user cannot change; remove it and add another."}
    role = serializers.ChoiceField(choices=Role.choices)


def group_mapping_url(mapping: GroupMapping, request) -> str:
    """Return the absolute URL of a group mapping in the API."""
    return links_for(request).item("api:group-mapping-list", mapping.pk, environment_pk=mapping.environment_id)


class GroupMappingSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A provider group whose people get a role in the environment at each sign-in."""

    type = serializers.SerializerMethodField()
    group = serializers.CharField(max_length=max_length(GroupMapping, "group"))
    role = serializers.ChoiceField(choices=Role.choices)
    links = serializers.SerializerMethodField()

    class Meta:
        model = GroupMapping
        fields = ["id", "type", "group", "role", "created_at", "links"]
        read_only_fields = ["id", "created_at"]

    def get_type(self, obj) -> str:
        return "group-mapping"

    def get_links(self, obj) -> dict[str, str]:
        request = self.context["request"]
        return {"self": group_mapping_url(obj, request), "environment": environment_url(obj.environment_id, request)}


class AuditActorSerializer(serializers.Serializer):
    """Who did it: a user (id and username), an API key (access key), anonymous or the system."""

    type = serializers.CharField(source="actor_type")
    id = serializers.IntegerField(source="actor_user_id", allow_null=True)
    name = serializers.CharField(source="actor_name")


class AuditEventSerializer(serializers.ModelSerializer):
    """One audit event: who did what, when, from where, and what changed (never a secret)."""

    type = serializers.SerializerMethodField()
    environment = serializers.IntegerField(source="environment_id", allow_null=True, read_only=True)
    actor = AuditActorSerializer(source="*", read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "type",
            "action",
            "created_at",
            "environment",
            "environment_name",
            "actor",
            "address",
            "target",
            "changes",
            "reason",
            "count",
            "links",
        ]
        read_only_fields = fields

    def get_type(self, obj) -> str:
        return "event"

    def to_representation(self, instance):
        """Leave out who owns the environment for an API key: keys never see who the members are."""
        data = super().to_representation(instance)
        changes = data["changes"] or {}
        if "owner" in changes and api_key_of(getattr(self.context.get("request"), "user", None)) is not None:
            data["changes"] = {field: value for field, value in changes.items() if field != "owner"}
        return data

    def get_links(self, obj) -> dict[str, str]:
        request = self.context["request"]
        return {
            "self": links_for(request).item("api:event-list", obj.pk, environment_pk=obj.environment_id),
            "environment": environment_url(obj.environment_id, request),
        }


class AuditEventFilterSerializer(serializers.Serializer):
    """The query parameters of the audit log."""

    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)

"""API representations of environments and memberships."""

from rest_framework import serializers

from config.api import StrictFieldsMixin
from config.reverse import reverse
from environments.models import AuditAction, AuditEvent, Environment, Membership, Role
from environments.selectors import api_key_of


def environment_links(environment_id: int, request) -> dict:
    """Return the absolute URLs of every part of the API for one environment that the requester may use.

    Keys never see members, so a key's view of its environment has no ``members`` link.
    """
    kwargs = {"environment_pk": environment_id}
    links = {
        "self": reverse("api:environment-detail", kwargs={"pk": environment_id}, request=request),
        "apikeys": reverse("api:apikey-list", kwargs=kwargs, request=request),
        "members": reverse("api:member-list", kwargs=kwargs, request=request),
        "events": reverse("api:event-list", kwargs=kwargs, request=request),
    }
    if api_key_of(getattr(request, "user", None)) is not None:
        del links["members"]
    return links


class EnvironmentSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An environment: its API endpoint, with links to every part of it."""

    type = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    name = serializers.CharField(max_length=100)

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
    links = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "type", "username", "role", "created_at", "links"]
        read_only_fields = ["id", "created_at"]

    def get_type(self, obj) -> str:
        return "member"

    def get_links(self, obj) -> dict[str, str]:
        request = self.context["request"]
        return {
            "self": reverse(
                "api:member-detail", kwargs={"environment_pk": obj.environment_id, "pk": obj.pk}, request=request
            ),
            "environment": reverse("api:environment-detail", kwargs={"pk": obj.environment_id}, request=request),
        }


class MembershipRoleSerializer(StrictFieldsMixin, serializers.Serializer):
    """Input for changing a member's role."""

    immutable_fields = {"username": "A membership's user cannot change; remove it and add another."}
    role = serializers.ChoiceField(choices=Role.choices)


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

    def get_links(self, obj) -> dict[str, str]:
        request = self.context["request"]
        kwargs = {"environment_pk": obj.environment_id}
        return {
            "self": reverse("api:event-detail", kwargs={**kwargs, "pk": obj.pk}, request=request),
            "environment": reverse("api:environment-detail", kwargs={"pk": obj.environment_id}, request=request),
        }


class AuditEventFilterSerializer(serializers.Serializer):
    """The query parameters of the audit log."""

    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)

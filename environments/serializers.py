"""API representations of environments and memberships."""

from rest_framework import serializers

from config.api import StrictFieldsMixin
from config.reverse import reverse
from environments.models import Environment, Membership, Role


def environment_links(environment_id: int, request) -> dict:
    """Return the absolute URLs of every part of the API for one environment."""
    kwargs = {"environment_pk": environment_id}
    return {
        "self": reverse("api:environment-detail", kwargs={"pk": environment_id}, request=request),
        "apikeys": reverse("api:apikey-list", kwargs=kwargs, request=request),
        "members": reverse("api:member-list", kwargs=kwargs, request=request),
    }


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

"""Environments and the users who belong to them."""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower


class Role(models.TextChoices):
    """What a member may do in an environment."""

    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"
    READ_ONLY = "read-only", "Read-only"


# From the most to the least a role allows: a person with two roles in one environment has the first.
ROLE_RANK = [Role.OWNER, Role.MEMBER, Role.READ_ONLY]


def highest_role(*roles: str) -> str:
    """Return the role that allows the most among ``roles`` (empty strings ignored), or ""."""
    given = [role for role in roles if role]
    return min(given, key=ROLE_RANK.index) if given else ""


class Environment(models.Model):
    """An environment: it has its own API endpoint and its own API keys."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A user's role in one environment.

    ``role`` is what the user may do, the higher of two sources kept apart: ``direct_role``, given
    by an owner on the Members tab or in the API, and ``group_role``, from the user's provider
    groups (``groups`` names them), recomputed at every sign-in. Either may be empty, not both.
    """

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    direct_role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    group_role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    groups = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "user"], name="one_membership_per_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.environment} ({self.role})"

    @property
    def direct_role_or_none(self) -> str | None:
        """Return the direct role, or None when the role comes from groups only."""
        return self.direct_role or None

    @property
    def group_role_or_none(self) -> str | None:
        """Return the role from groups, or None when there is none."""
        return self.group_role or None


class GroupMapping(models.Model):
    """A provider group (LDAP or OpenID Connect) whose people get a role in one environment."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="group_mappings")
    group = models.CharField(max_length=255)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment__name", "group"]
        constraints = [
            # Group names match without regard to case at sign-in, so "Platform" and "platform"
            # are one group: one mapping.
            models.UniqueConstraint(F("environment"), Lower("group"), name="one_mapping_per_group"),
        ]

    def __str__(self):
        return f"{self.group} -> {self.role} in {self.environment}"

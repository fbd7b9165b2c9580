"""Environments and the users who belong to them."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    """What a member may do in an environment."""

    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"
    READ_ONLY = "read-only", "Read-only"


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
    """A user's role in one environment."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "user"], name="one_membership_per_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.environment} ({self.role})"

"""Audit events: who changed what in an environment, and summaries of refused authentications."""

from django.conf import settings
from django.db import models


class AuditAction(models.TextChoices):
    """What an audit event records."""

    ENVIRONMENT_CREATED = "environment.created", "Environment created"
    ENVIRONMENT_EDITED = "environment.edited", "Environment edited"
    ENVIRONMENT_DELETED = "environment.deleted", "Environment deleted"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_CHANGED = "member.changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    APIKEY_CREATED = "apikey.created", "API key created"
    APIKEY_EDITED = "apikey.edited", "API key edited"
    APIKEY_ACTIVATED = "apikey.activated", "API key activated"
    APIKEY_DEACTIVATED = "apikey.deactivated", "API key deactivated"
    APIKEY_DELETED = "apikey.deleted", "API key deleted"
    AUTH_REFUSED = "auth.refused", "Authentication refused"
    # --- Identity providers (issue 13) ---
    MAPPING_ADDED = "member.mapping_added", "Group mapping added"
    MAPPING_REMOVED = "member.mapping_removed", "Group mapping removed"
    GROUP_ROLE_CHANGED = "member.group_role", "Role from groups changed"
    PROVIDER_SIGNIN = "auth.provider_signin", "Signed in through an identity provider"


class ActorType(models.TextChoices):
    """Who did what an audit event records."""

    USER = "user", "User"
    APIKEY = "apikey", "API key"
    ANONYMOUS = "anonymous", "Anonymous"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    """One change to an environment, a membership or a key, or a summary of refused authentications.

    ``changes`` maps each field that changed to ``[old, new]`` (``old`` is null on creation,
    ``new`` on deletion); it never holds a secret or a digest. A refused-authentication row sums
    up ``count`` refusals of one ``bucket`` (access key, address, reason, minute).
    """

    # SET_NULL, with the name kept, so the trail outlives the environment. Named by its label, so
    # that the audit log imports no app.
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    environment_name = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The username or the access key, kept when the user or key is gone.
    actor_name = models.CharField(max_length=150, blank=True)
    address = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(editable=False)
    # What the event is about: an access key, a username, an environment name, a provider group's name
    # (up to 255 characters, as a group mapping allows).
    target = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    count = models.PositiveIntegerField(default=1)
    bucket = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        # The table was created when the model lived in the environments app; it keeps its name.
        db_table = "environments_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["environment", "-created_at"], name="audit_env_created"),
            models.Index(fields=["action"], name="audit_action"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor_label} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def actor_label(self) -> str:
        """Return who did it as a person reads it."""
        if self.actor_type == ActorType.USER:
            return f"{self.actor_name} (user #{self.actor_user_id})" if self.actor_user_id else self.actor_name
        if self.actor_type == ActorType.APIKEY:
            return f"API key {self.actor_name}"
        return self.get_actor_type_display().lower()

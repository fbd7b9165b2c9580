"""Environment API keys: an access key, the digest of a secret key, and a state."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.errors import DomainError
from environments.models import Environment


class State(models.TextChoices):
    """Whether a key may be used."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"


class Permission(models.TextChoices):
    """What a key may do in its environment."""

    READ_WRITE = "read-write", "Read-write"
    READ_ONLY = "read-only", "Read-only"


class Action(models.TextChoices):
    """What can be done to a key once it exists, besides editing its name and description."""

    DEACTIVATE = "deactivate", "Deactivate"
    ACTIVATE = "activate", "Activate"
    DELETE = "delete", "Delete"


# The key lifecycle, the one place it is written: in each state, the actions that apply and the
# state each leads to (None: the key is gone). The services enforce it; the API's ``actions``, the
# dashboard's menus and the admin's actions read it.
LIFECYCLE: dict[str, dict[str, str | None]] = {
    State.ACTIVE: {Action.DEACTIVATE: State.INACTIVE},
    State.INACTIVE: {Action.ACTIVATE: State.ACTIVE, Action.DELETE: None},
}

# Why an action does not apply, keyed by the action: one message for each refusal, wherever it is shown.
REFUSALS = {
    Action.DEACTIVATE: "This API key is already inactive.",
    Action.ACTIVATE: "This API key is already active.",
    Action.DELETE: "Deactivate this API key before deleting it.",
}


def states_allowing(action: str) -> list[str]:
    """Return the states in which ``action`` applies."""
    return [state for state, actions in LIFECYCLE.items() if action in actions]


def refusal(action: str) -> DomainError:
    """Return the error that refuses ``action`` on a key in a state where it does not apply."""
    return DomainError(REFUSALS[action], code="invalid_state")


class ApiKey(models.Model):
    """An environment API key. The secret key itself is never stored, only its digest."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True, max_length=1000)
    access_key = models.CharField(max_length=20, unique=True, editable=False)
    secret_hash = models.CharField(max_length=128, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    permission = models.CharField(max_length=16, choices=Permission.choices, default=Permission.READ_WRITE)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who created the key, for finding the keys of someone who left. A key belongs to its
    # environment, not to this person: deactivating or deleting the account leaves the key working.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="created_api_keys",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "environment API key"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["environment", "state"], name="apikey_env_state")]

    def __str__(self):
        return f"{self.name or 'Unnamed key'} ({self.access_key})"

    @property
    def is_active(self) -> bool:
        """Return whether the key is in the active state (it may still be expired)."""
        return self.state == State.ACTIVE

    def is_expired(self, now=None) -> bool:
        """Return whether the key's expiry time has passed."""
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        """Return whether the key may authenticate: active and not expired."""
        return self.is_active and not self.is_expired(now)

    @property
    def allowed_actions(self) -> tuple[str, ...]:
        """Return the lifecycle actions that apply in the key's state, from ``LIFECYCLE``."""
        return tuple(LIFECYCLE[self.state])

    def allows(self, action: str) -> bool:
        """Return whether ``action`` applies to the key in its state."""
        return action in LIFECYCLE[self.state]

    def ensure_allows(self, action: str) -> None:
        """Raise DomainError (``invalid_state``, with the action's one message) unless ``action`` applies."""
        if not self.allows(action):
            raise refusal(action)

    @property
    def can_write(self) -> bool:
        """Return whether the key may change things."""
        return self.permission == Permission.READ_WRITE

    @property
    def status_label(self) -> str:
        """Return the state as a person reads it: Active, Inactive or Expired."""
        if self.is_active and self.is_expired():
            return "Expired"
        return self.get_state_display()

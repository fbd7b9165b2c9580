"""Lifecycle rules for environment API keys: create, edit, activate, deactivate, delete.

Which action applies in which state is ``apikeys.models.LIFECYCLE``; these functions enforce it.
State changes are single conditional statements (``UPDATE ... WHERE state IN ...``) and a deletion
locks the key's row while it checks the state, so two concurrent actions on one key can never both
apply: the loser gets a ``DomainError``. Using a key (authentication, the last-used time) is
``apikeys.usage``.
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apikeys import crypto
from apikeys.models import LIFECYCLE, Action, ApiKey, Permission, refusal, states_allowing
from common.actor import SYSTEM, Actor
from common.audit import records as audit
from common.audit.models import AuditAction
from common.errors import DomainError, clean_text
from environments.models import Environment

_ACCESS_KEY_ATTEMPTS = 5
_GONE = "This API key no longer exists."
_AUDIT_ACTIONS = {
    Action.DEACTIVATE: AuditAction.APIKEY_DEACTIVATED,
    Action.ACTIVATE: AuditAction.APIKEY_ACTIVATED,
}


def ensure_future_expiry(*, expires_at: datetime.datetime | None) -> None:
    """Raise DomainError unless ``expires_at`` is None (never expires) or in the future."""
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry time must be in the future.", code="invalid", field="expires_at")


@sensitive_variables("secret")
def create_api_key(
    *,
    environment: Environment,
    name: str = "",
    description: str = "",
    permission: str = Permission.READ_WRITE,
    expires_at: datetime.datetime | None = None,
    actor: Actor = SYSTEM,
) -> tuple[ApiKey, str]:
    """Create an active key in the environment; return it with its secret key (shown once)."""
    if permission not in Permission.values:
        raise DomainError(f"Unknown permission {permission!r}.", code="invalid", field="permission")
    ensure_future_expiry(expires_at=expires_at)
    name = clean_text(model=ApiKey, field="name", value=name, strip=True)
    description = clean_text(model=ApiKey, field="description", value=description)
    secret = crypto.generate_secret_key()
    for attempt in range(_ACCESS_KEY_ATTEMPTS):
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    environment=environment,
                    name=name,
                    description=description,
                    access_key=crypto.generate_access_key(),
                    secret_hash=crypto.hash_secret(secret),
                    permission=permission,
                    expires_at=expires_at,
                    created_by=actor.user,
                )
                audit.record(
                    action=AuditAction.APIKEY_CREATED,
                    environment=environment,
                    actor=actor,
                    target=key.access_key,
                    changes={
                        field: [None, getattr(key, field)]
                        for field in ("name", "description", "permission", "expires_at")
                    },
                )
            return key, secret
        except IntegrityError:
            # Only an access-key collision (about 1 in 10^28) or a vanished environment lands here.
            if not Environment.objects.filter(pk=environment.pk).exists():
                raise DomainError("This environment no longer exists.", code="not_found") from None
            if attempt == _ACCESS_KEY_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def update_api_key(
    *, key: ApiKey, name: str | None = None, description: str | None = None, actor: Actor = SYSTEM
) -> ApiKey:
    """Change a key's name and/or description; nothing else about a key can change."""
    values = {}
    if name is not None:
        values["name"] = clean_text(model=ApiKey, field="name", value=name, strip=True)
    if description is not None:
        values["description"] = clean_text(model=ApiKey, field="description", value=description)
    if not values:
        return key
    with transaction.atomic():
        # Read the values being replaced under a lock: the caller's object may already hold the new ones.
        before = ApiKey.objects.select_for_update().filter(pk=key.pk).values(*values).first()
        if before is None:
            raise DomainError(_GONE, code="not_found")
        ApiKey.objects.filter(pk=key.pk).update(**values)
        changes = audit.diff(before, values)
        if changes:
            audit.record(
                action=AuditAction.APIKEY_EDITED,
                environment=key.environment,
                actor=actor,
                target=key.access_key,
                changes=changes,
            )
    for field, value in values.items():
        setattr(key, field, value)
    return key


def _transition(*, key: ApiKey, action: str, actor: Actor) -> ApiKey:
    """Move the key to the state ``action`` leads to, if its state in the database allows it."""
    (from_state,) = states_allowing(action)  # each state change applies in exactly one state
    to_state = LIFECYCLE[from_state][action]
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=key.pk, state=from_state).update(state=to_state):
            if not ApiKey.objects.filter(pk=key.pk).exists():
                raise DomainError(_GONE, code="not_found")
            raise refusal(action)
        audit.record(
            action=_AUDIT_ACTIONS[action],
            environment=key.environment,
            actor=actor,
            target=key.access_key,
            changes={"state": [from_state, to_state]},
        )
    key.state = to_state
    return key


def deactivate_api_key(*, key: ApiKey, actor: Actor = SYSTEM) -> ApiKey:
    """Make an active key inactive; it is refused from the very next request on."""
    return _transition(key=key, action=Action.DEACTIVATE, actor=actor)


def activate_api_key(*, key: ApiKey, actor: Actor = SYSTEM) -> ApiKey:
    """Make an inactive key active again."""
    return _transition(key=key, action=Action.ACTIVATE, actor=actor)


def delete_api_key(*, key: ApiKey, actor: Actor = SYSTEM) -> None:
    """Delete a key in a state that allows it (inactive); an active key must be deactivated first."""
    with transaction.atomic():
        # Lock the row while checking its state: Django deletes with a SELECT and then a DELETE by
        # id as soon as anything references keys, and an activation committed in between would
        # otherwise delete an active key.
        state = ApiKey.objects.select_for_update().filter(pk=key.pk).values_list("state", flat=True).first()
        if state is None:
            raise DomainError(_GONE, code="not_found")
        if Action.DELETE not in LIFECYCLE[state]:
            raise refusal(Action.DELETE)
        ApiKey.objects.filter(pk=key.pk).delete()
        audit.record(
            action=AuditAction.APIKEY_DELETED,
            environment=key.environment,
            actor=actor,
            target=key.access_key,
            changes={"name": [key.name, None], "permission": [key.permission, None]},
        )

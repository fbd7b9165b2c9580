"""Recording changes in the audit log, inside the transaction that makes the change.

An action that rolls back leaves no event, and an event never exists without its change. The
services call ``record()``; nothing else writes change events.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from common import metrics
from common.actor import SYSTEM, Actor, api_key_of
from common.audit.models import ActorType, AuditEvent

# Field names that must never reach an event: the services never pass them, this makes sure.
_SECRET_FIELDS = frozenset({"secret", "secret_key", "secret_hash"})


def describe_actor(actor: Actor) -> tuple[str, object, str]:
    """Return ``(actor_type, user or None, name)`` for the actor's principal."""
    principal = actor.principal
    if principal is None:
        return ActorType.SYSTEM, None, ""
    key = api_key_of(principal)
    if key is not None:
        return ActorType.APIKEY, None, key.access_key
    if actor.user is not None:
        return ActorType.USER, actor.user, actor.user.get_username()
    return ActorType.ANONYMOUS, None, ""


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def record(
    *,
    action: str,
    environment,
    actor: Actor = SYSTEM,
    target: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Record one change to ``environment``; call it inside the transaction that makes the change.

    ``changes`` maps field names to ``[old, new]``. ``environment`` is None for an event that
    concerns no environment (a sign-in through an identity provider).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records.")
    changes = changes or {}
    if _SECRET_FIELDS & changes.keys():
        raise ValueError("An audit event never holds a secret or its digest.")
    actor_type, user, actor_name = describe_actor(actor)
    transaction.on_commit(lambda: metrics.count_audit_event(action))
    return AuditEvent.objects.create(
        environment=environment,
        environment_name=environment.name if environment is not None else "",
        action=action,
        actor_type=actor_type,
        actor_user=user,
        actor_name=actor_name,
        address=(actor.address or "")[:64],
        created_at=timezone.now(),
        target=target,
        changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in changes.items()},
    )


def diff(before: dict, after: dict) -> dict:
    """Return ``{field: [old, new]}`` for the fields of ``after`` whose value differs in ``before``."""
    return {field: [before.get(field), new] for field, new in after.items() if before.get(field) != new}

"""Lifecycle rules for environment API keys: create, edit, activate, deactivate, delete, use.

State changes are single conditional statements (``UPDATE ... WHERE state = ...``) and a deletion
locks the key's row while it checks the state, so two concurrent actions on one key can never
both apply: the loser gets a ``DomainError``.
"""

import datetime
import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apikeys import crypto, selectors
from apikeys.models import ApiKey, Permission, State
from environments import audit
from environments.exceptions import DomainError
from environments.models import AuditAction, Environment
from environments.services import clean_text

logger = logging.getLogger(__name__)

_ACCESS_KEY_ATTEMPTS = 5
INVALID_CREDENTIALS = "Invalid access key or secret key."


def _now() -> datetime.datetime:
    """Return the current time; tests replace this to move the clock."""
    return timezone.now()


def ensure_future_expiry(*, expires_at: datetime.datetime | None) -> None:
    """Raise DomainError unless ``expires_at`` is None (never expires) or in the future."""
    if expires_at is not None and expires_at <= _now():
        raise DomainError("The expiry time must be in the future.", code="invalid", field="expires_at")


@sensitive_variables("secret")
def create_api_key(
    *,
    environment: Environment,
    name: str = "",
    description: str = "",
    permission: str = Permission.READ_WRITE,
    expires_at: datetime.datetime | None = None,
    actor=None,
    address: str = "",
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
                )
                audit.record(
                    action=AuditAction.APIKEY_CREATED,
                    environment=environment,
                    actor=actor,
                    address=address,
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
    *, key: ApiKey, name: str | None = None, description: str | None = None, actor=None, address: str = ""
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
            raise DomainError("This API key no longer exists.", code="not_found")
        ApiKey.objects.filter(pk=key.pk).update(**values)
        changes = audit.diff(before, values)
        if changes:
            audit.record(
                action=AuditAction.APIKEY_EDITED,
                environment=key.environment,
                actor=actor,
                address=address,
                target=key.access_key,
                changes=changes,
            )
    for field, value in values.items():
        setattr(key, field, value)
    return key


def _transition(
    key: ApiKey, *, from_state: str, to_state: str, refusal: str, action: str, actor, address: str
) -> ApiKey:
    with transaction.atomic():
        if not ApiKey.objects.filter(pk=key.pk, state=from_state).update(state=to_state):
            if not ApiKey.objects.filter(pk=key.pk).exists():
                raise DomainError("This API key no longer exists.", code="not_found")
            raise DomainError(refusal, code="invalid_state")
        audit.record(
            action=action,
            environment=key.environment,
            actor=actor,
            address=address,
            target=key.access_key,
            changes={"state": [from_state, to_state]},
        )
    key.state = to_state
    return key


def deactivate_api_key(*, key: ApiKey, actor=None, address: str = "") -> ApiKey:
    """Make an active key inactive; it is refused from the very next request on."""
    return _transition(
        key,
        from_state=State.ACTIVE,
        to_state=State.INACTIVE,
        refusal="This API key is already inactive.",
        action=AuditAction.APIKEY_DEACTIVATED,
        actor=actor,
        address=address,
    )


def activate_api_key(*, key: ApiKey, actor=None, address: str = "") -> ApiKey:
    """Make an inactive key active again."""
    return _transition(
        key,
        from_state=State.INACTIVE,
        to_state=State.ACTIVE,
        refusal="This API key is already active.",
        action=AuditAction.APIKEY_ACTIVATED,
        actor=actor,
        address=address,
    )


def delete_api_key(*, key: ApiKey, actor=None, address: str = "") -> None:
    """Delete an inactive key; an active key must be deactivated first."""
    with transaction.atomic():
        # Lock the row while checking its state: Django deletes with a SELECT and then a DELETE by
        # id as soon as anything references keys, and an activation committed in between would
        # otherwise delete an active key.
        state = ApiKey.objects.select_for_update().filter(pk=key.pk).values_list("state", flat=True).first()
        if state is None:
            raise DomainError("This API key no longer exists.", code="not_found")
        if state != State.INACTIVE:
            raise DomainError("Deactivate this API key before deleting it.", code="invalid_state")
        ApiKey.objects.filter(pk=key.pk).delete()
        audit.record(
            action=AuditAction.APIKEY_DELETED,
            environment=key.environment,
            actor=actor,
            address=address,
            target=key.access_key,
            changes={"name": [key.name, None], "permission": [key.permission, None]},
        )


@sensitive_variables("secret")
def authenticate_api_key(*, access_key: str, secret: str) -> ApiKey:
    """Return the usable key for this pair (one query), or raise DomainError.

    An unknown access key and a wrong secret get the same message; only after the secret has
    verified does the error say that the key is inactive or expired. Malformed input is refused
    before the database is asked.
    """
    if not (crypto.is_well_formed_access_key(access_key) and crypto.is_well_formed_secret_key(secret)):
        raise DomainError(INVALID_CREDENTIALS, code="authentication_failed")
    key = selectors.key_for_authentication(access_key=access_key)
    if key is None or not crypto.verify_secret(secret, key.secret_hash):
        raise DomainError(INVALID_CREDENTIALS, code="authentication_failed")
    if not key.is_active:
        raise DomainError("This API key is inactive.", code="key_inactive")
    if key.is_expired(_now()):
        raise DomainError("This API key has expired.", code="key_expired")
    record_key_use(key=key)
    return key


def record_key_use(*, key: ApiKey) -> None:
    """Note that the key was used, writing at most once per APIKEY_LAST_USED_INTERVAL.

    On a steady-state request this is a comparison with the ``last_used_at`` that authentication
    already loaded: no query. When a write is due it is best effort and never waits on a lock
    (see ``_write_last_used``): a busy or failing database never fails or stalls the request,
    and the next request with the key simply tries again.
    """
    now = _now()
    threshold = now - datetime.timedelta(seconds=settings.APIKEY_LAST_USED_INTERVAL)
    if key.last_used_at is not None and key.last_used_at > threshold:
        return
    try:
        written = _write_last_used(key_id=key.pk, now=now, threshold=threshold)
    except DatabaseError as exc:
        if _is_lock_contention(exc):
            logger.debug("Skipped recording the last use of API key %s: the row or database is busy", key.access_key)
        else:
            logger.warning("Could not record the last use of API key %s", key.access_key, exc_info=True)
        return
    if written:
        key.last_used_at = now


def _write_last_used(*, key_id: int, now: datetime.datetime, threshold: datetime.datetime) -> bool:
    """Set ``last_used_at`` if it is older than ``threshold``, without waiting on any lock.

    The ``WHERE last_used_at <= threshold`` condition makes the write happen once per interval
    however many workers see the key as due at the same moment: the first one to commit wins and
    the others update nothing. How "never wait" is achieved depends on the database:

    * PostgreSQL (and any backend with ``SKIP LOCKED``): a short transaction first locks the row
      with ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``. If another transaction holds it (a
      deactivation, a deletion, another worker's write), the select returns nothing and we skip;
      otherwise the row is ours and the UPDATE cannot block. ``lock_timeout`` bounds the only
      remaining wait, a table lock held by a migration, to a few milliseconds.
    * SQLite: there are no row locks, only one database-wide write lock, and the connection
      waits up to its ``timeout`` (seconds) for it. For this write alone the busy timeout is set
      to zero, so ``BEGIN IMMEDIATE`` fails at once with "database is locked" when another
      writer is busy; the caller logs that at debug level and the request carries on.
    """
    alias = router.db_for_write(ApiKey)
    connection = connections[alias]
    due = (
        ApiKey.objects.using(alias)
        .filter(pk=key_id)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold))
    )
    with _sqlite_busy_timeout(connection, milliseconds=0), transaction.atomic(using=alias):
        if connection.features.has_select_for_update_skip_locked:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '50ms'")
            no_key = connection.features.has_select_for_no_key_update
            if not list(due.select_for_update(skip_locked=True, no_key=no_key).values_list("pk", flat=True)):
                return False
        return bool(due.update(last_used_at=now))


@contextmanager
def _sqlite_busy_timeout(connection, *, milliseconds: int):
    """Run the block with the SQLite connection's busy timeout set to ``milliseconds``; restore it after."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(previous)}")


def _is_lock_contention(exc: DatabaseError) -> bool:
    """Return whether the error only says that someone else held a lock we would not wait for."""
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "55P03":  # PostgreSQL lock_not_available
        return True
    return "locked" in str(exc).lower()

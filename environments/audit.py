"""The audit log: one place that writes audit events, called by the services and the authentication class.

Changes are recorded by ``record()`` inside the service's own transaction, so an action that rolls
back leaves no event and an event never exists without its change.

Refused authentications are summarised, not logged one by one: each refusal only counts in the
cache, per *bucket* (access key, client address, reason, minute). A bucket's first refusal inserts
its row; later ones rewrite the row's ``count`` only when it reaches a power of two; the next
minute's first refusal from that key or address writes the previous minute's final count, and so
does showing the log (``settle_refusals``, for the last quarter of an hour). So a flood costs one
cache operation per request and about log2(N) writes for N refusals. Recording a refusal is best
effort: a failing cache or database never turns the 401 into an error.
"""

import datetime
import hashlib
import logging

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apikeys import crypto
from environments import selectors
from environments.models import ActorType, AuditAction, AuditEvent, Environment

logger = logging.getLogger(__name__)

# Field names that must never reach an event: the services never pass them, this makes sure.
_SECRET_FIELDS = frozenset({"secret", "secret_key", "secret_hash"})

BUCKET_SECONDS = 60
# Counters outlive their minute, so a later refusal or a reader of the log can still settle them.
_BUCKET_TTL = 15 * BUCKET_SECONDS
# One address refused on more distinct access keys than this in a minute (someone guessing access
# keys) gets one bucket for the rest of that minute, so guessing cannot cost a row per request.
KEYS_PER_ADDRESS = 10
# A bucket counter folded into its address's bucket holds this (never reached by counting).
_FOLDED = -(10**9)


def _now() -> datetime.datetime:
    """Return the current time; tests replace this to move the clock."""
    return timezone.now()


def describe_actor(actor) -> tuple[str, object, str]:
    """Return ``(actor_type, user or None, name)`` for a request's user, a key principal or None."""
    if actor is None:
        return ActorType.SYSTEM, None, ""
    key = selectors.api_key_of(actor)
    if key is not None:
        return ActorType.APIKEY, None, key.access_key
    if getattr(actor, "is_authenticated", False):
        return ActorType.USER, actor, actor.get_username()
    return ActorType.ANONYMOUS, None, ""


def _jsonable(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def record(
    *,
    action: str,
    environment: Environment,
    actor=None,
    address: str = "",
    target: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Record one change; call it inside the transaction that makes the change.

    ``actor`` is ``request.user`` (a user, an anonymous user or a key principal) or None for the
    system (management commands). ``changes`` maps field names to ``[old, new]``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change it records.")
    changes = changes or {}
    if _SECRET_FIELDS & changes.keys():
        raise ValueError("An audit event never holds a secret or its digest.")
    actor_type, user, actor_name = describe_actor(actor)
    return AuditEvent.objects.create(
        environment=environment,
        environment_name=environment.name,
        action=action,
        actor_type=actor_type,
        actor_user=user,
        actor_name=actor_name,
        address=(address or "")[:64],
        created_at=_now(),
        target=target,
        changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in changes.items()},
    )


def diff(before: dict, after: dict) -> dict:
    """Return ``{field: [old, new]}`` for the fields of ``after`` whose value differs in ``before``."""
    return {field: [before.get(field), new] for field, new in after.items() if before.get(field) != new}


# --- Refused authentications ------------------------------------------------------------------


def record_refused_authentication(*, access_key: str, address: str, reason: str) -> None:
    """Count one refused authentication towards its bucket's summary row. Never raises.

    The presented access key is kept only when it has the shape of an access key (so a secret
    typed in the wrong place is never stored); the secret is never passed here at all.
    """
    try:
        if not crypto.is_well_formed_access_key(access_key or ""):
            access_key = ""
        _count_refusal(access_key=access_key, address=(address or "")[:64], reason=reason)
    except Exception:
        # Best effort by design: the request is refused whether or not the summary is written.
        logger.warning("Could not record a refused authentication (reason %s)", reason, exc_info=True)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def _bucket_id(access_key: str, address: str, reason: str, minute: int) -> str:
    return f"{_digest(access_key, address, reason)}:{minute}"


def _counter(bucket: str) -> str:
    return f"audit:refused:{bucket}"


def _incr(key: str) -> int:
    """Increment a cache counter that may not exist yet, keeping it for ``_BUCKET_TTL``; return it."""
    backend = caches["default"]
    redis = getattr(getattr(backend, "_cache", None), "get_client", None)
    if isinstance(backend, RedisCache) and redis is not None:
        # One round trip instead of the three of Django's add/incr (EXISTS, INCRBY, SET NX): this
        # runs on every refused request. Django's Redis serializer stores integers as plain
        # integers, so cache.get() reads this counter as usual.
        key = backend.make_and_validate_key(key)
        pipeline = redis(key, write=True).pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, _BUCKET_TTL)
        return pipeline.execute()[0]
    try:
        return cache.incr(key)
    except ValueError:
        if cache.add(key, 1, timeout=_BUCKET_TTL):
            return 1
        return cache.incr(key)


def _count_refusal(*, access_key: str, address: str, reason: str) -> None:
    now = _now()
    minute = int(now.timestamp()) // BUCKET_SECONDS
    bucket = _bucket_id(access_key, address, reason, minute)
    count = _incr(_counter(bucket))
    if access_key and count == 1 and _incr(f"audit:refused-keys:{_digest(address)}:{minute}") > KEYS_PER_ADDRESS:
        cache.set(_counter(bucket), _FOLDED, timeout=_BUCKET_TTL)
        count = _FOLDED
    if count <= 0:
        # This address is guessing access keys: count on its one keyless bucket instead.
        access_key = ""
        bucket = _bucket_id(access_key, address, reason, minute)
        count = _incr(_counter(bucket))
    if count == 1:
        _settle(access_key=access_key, address=address, reason=reason, minute=minute)
        _insert_refusal(bucket=bucket, access_key=access_key, address=address, reason=reason, now=now)
    elif count & (count - 1) == 0:
        # Rewritten at 2, 4, 8, ... refusals: a flood of N costs about log2(N) writes, not N.
        _write_count(bucket, count)


def _settle(*, access_key: str, address: str, reason: str, minute: int) -> None:
    """Write the final counts of the previous minute's buckets of this key and of this address."""
    buckets = {_bucket_id(scope_key, address, reason, minute - 1) for scope_key in (access_key, "")}
    counts = cache.get_many([_counter(bucket) for bucket in buckets])
    for bucket in buckets:
        count = counts.get(_counter(bucket))
        if count is not None and count > 1:
            _write_count(bucket, count)


def settle_refusals(*, environment: Environment | None = None) -> None:
    """Write the counts that recent summary rows (of one environment, or all) lag behind. Never raises.

    Called before the audit log is shown, so that a burst that has stopped shows its full count.
    """
    try:
        recent = AuditEvent.objects.filter(
            action=AuditAction.AUTH_REFUSED,
            bucket__isnull=False,
            created_at__gte=_now() - datetime.timedelta(seconds=_BUCKET_TTL),
        )
        if environment is not None:
            recent = recent.filter(environment=environment)
        rows = dict(recent.values_list("bucket", "count"))
        if not rows:
            return
        counts = cache.get_many([_counter(bucket) for bucket in rows])
        for bucket, count in rows.items():
            cached = counts.get(_counter(bucket))
            if cached is not None and cached > count:
                _write_count(bucket, cached)
    except Exception:
        logger.warning("Could not settle refused-authentication counts", exc_info=True)


def _write_count(bucket: str, count: int) -> None:
    AuditEvent.objects.filter(bucket=bucket, count__lt=count).update(count=count)


def _insert_refusal(*, bucket: str, access_key: str, address: str, reason: str, now: datetime.datetime) -> None:
    # An unknown access key has no environment: such rows are for superusers (the admin) only.
    environment = Environment.objects.filter(api_keys__access_key=access_key).first() if access_key else None
    try:
        with transaction.atomic():
            AuditEvent.objects.create(
                environment=environment,
                environment_name=environment.name if environment else "",
                action=AuditAction.AUTH_REFUSED,
                actor_type=ActorType.ANONYMOUS,
                address=address,
                created_at=now,
                target=access_key,
                reason=reason,
                count=1,
                bucket=bucket,
            )
    except IntegrityError:
        # The row exists already (the cache lost its counter): count on it instead.
        AuditEvent.objects.filter(bucket=bucket).update(count=F("count") + 1)

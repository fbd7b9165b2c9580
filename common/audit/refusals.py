"""Summaries of refused authentications in the audit log: counted in the cache, written as few rows.

Refusals are summarised, not logged one by one: each refusal only counts in the cache, per
*bucket* (access key, client address, reason, minute). A bucket's first refusal inserts its row;
later ones rewrite the row's ``count`` only when it reaches a power of two; the next minute's first
refusal from that key or address writes the previous minute's final count, and so does showing
the log (``settle_refusals``, for the last quarter of an hour). So a flood costs a few cache
operations per request and about log2(N) writes for N refusals. Counting a refusal is best
effort: a failing cache or database never turns the refusal into an error.
"""

import datetime
import hashlib
import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from common import counters, metrics
from common.audit.models import ActorType, AuditAction, AuditEvent

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 60
# Counters outlive their minute, so a later refusal or a reader of the log can still settle them.
_BUCKET_TTL = 15 * BUCKET_SECONDS
# One address refused on more distinct access keys than this in a minute (someone guessing access
# keys) gets one bucket for the rest of that minute, so guessing cannot cost a row per request.
KEYS_PER_ADDRESS = 10
# A bucket counter folded into its address's bucket holds this (never reached by counting).
_FOLDED = -(10**9)


def _no_environment():
    return None


def count_refusal(
    *, access_key: str, address: str, reason: str, find_environment=_no_environment, forwarded: dict | None = None
) -> None:
    """Count one refused authentication towards its bucket's summary row. Never raises.

    ``access_key`` is the presented access key when it has an access key's shape, else "" (the
    caller checks, so that a secret typed in the wrong place is never stored). ``find_environment``
    returns that key's environment, or None; it is called only when a bucket's row is written
    first, so a flood costs no lookup per request. The secret is never passed here at all.
    ``forwarded`` (``{"host": ..., "path": ...}``) says where a request refused for a reverse proxy
    was going; the row keeps that of its bucket's first refusal, as ``changes["forwarded"]``.
    """
    try:
        _count(
            access_key=access_key,
            address=(address or "")[:64],
            reason=reason,
            find_environment=find_environment,
            forwarded=forwarded,
        )
    except Exception:
        # Best effort by design: the request is refused whether or not the summary is written.
        logger.warning("Could not record a refused authentication (reason %s)", reason, exc_info=True)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def _bucket_id(access_key: str, address: str, reason: str, minute: int) -> str:
    return f"{_digest(access_key, address, reason)}:{minute}"


def _counter(bucket: str) -> str:
    return f"audit:refused:{bucket}"


def _count(*, access_key: str, address: str, reason: str, find_environment, forwarded: dict | None) -> None:
    now = timezone.now()
    minute = int(now.timestamp()) // BUCKET_SECONDS
    bucket = _bucket_id(access_key, address, reason, minute)
    count = counters.increment(_counter(bucket), timeout=_BUCKET_TTL)
    if count == 0:
        # The cache is unavailable (common.counters has said so): nothing can be counted.
        return
    if access_key and count == 1:
        keys_tried = counters.increment(f"audit:refused-keys:{_digest(address)}:{minute}", timeout=_BUCKET_TTL)
        if keys_tried > KEYS_PER_ADDRESS:
            counters.put(_counter(bucket), _FOLDED, timeout=_BUCKET_TTL)
            count = _FOLDED
    if count <= 0:
        # This address is guessing access keys: count on its one keyless bucket instead.
        access_key, find_environment = "", _no_environment
        bucket = _bucket_id(access_key, address, reason, minute)
        count = counters.increment(_counter(bucket), timeout=_BUCKET_TTL)
        if count == 0:
            return
    if count == 1:
        _settle(access_key=access_key, address=address, reason=reason, minute=minute)
        environment = find_environment()
        _insert(
            bucket=bucket,
            access_key=access_key,
            address=address,
            reason=reason,
            environment=environment,
            now=now,
            forwarded=forwarded,
        )
    elif count & (count - 1) == 0:
        # Rewritten at 2, 4, 8, ... refusals: a flood of N costs about log2(N) writes, not N.
        _write_count(bucket, count)


def _settle(*, access_key: str, address: str, reason: str, minute: int) -> None:
    """Write the final counts of the previous minute's buckets of this key and of this address."""
    buckets = {_bucket_id(scope_key, address, reason, minute - 1) for scope_key in (access_key, "")}
    counts = counters.read_many([_counter(bucket) for bucket in buckets])
    for bucket in buckets:
        count = counts.get(_counter(bucket))
        if count is not None and count > 1:
            _write_count(bucket, count)


def settle_refusals(*, environment=None) -> None:
    """Write the counts that recent summary rows (of one environment, or all) lag behind. Never raises.

    Called before the audit log is shown, so that a burst that has stopped shows its full count.
    """
    try:
        recent = AuditEvent.objects.filter(
            action=AuditAction.AUTH_REFUSED,
            bucket__isnull=False,
            created_at__gte=timezone.now() - datetime.timedelta(seconds=_BUCKET_TTL),
        )
        if environment is not None:
            recent = recent.filter(environment=environment)
        rows = dict(recent.values_list("bucket", "count"))
        if not rows:
            return
        counts = counters.read_many([_counter(bucket) for bucket in rows])
        for bucket, count in rows.items():
            cached = counts.get(_counter(bucket))
            if cached is not None and cached > count:
                _write_count(bucket, cached)
    except Exception:
        logger.warning("Could not settle refused-authentication counts", exc_info=True)


def _write_count(bucket: str, count: int) -> None:
    AuditEvent.objects.filter(bucket=bucket, count__lt=count).update(count=count)


def _insert(
    *,
    bucket: str,
    access_key: str,
    address: str,
    reason: str,
    environment,
    now: datetime.datetime,
    forwarded: dict | None,
) -> None:
    # An unknown access key has no environment: such rows are for superusers (the admin) only.
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: metrics.count_audit_event(AuditAction.AUTH_REFUSED))
            AuditEvent.objects.create(
                environment=environment,
                environment_name=environment.name if environment is not None else "",
                action=AuditAction.AUTH_REFUSED,
                actor_type=ActorType.ANONYMOUS,
                address=address,
                created_at=now,
                target=access_key,
                reason=reason,
                changes={"forwarded": forwarded} if forwarded else {},
                count=1,
                bucket=bucket,
            )
    except IntegrityError:
        # The row exists already (the cache lost its counter): count on it instead.
        AuditEvent.objects.filter(bucket=bucket).update(count=F("count") + 1)

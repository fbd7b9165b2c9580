"""Using an environment API key: check a key pair, and note when the key was last used.

This is the path every key-authenticated request takes, apart from the lifecycle in
``apikeys.services``: one query to load the key with its environment, a constant-time digest
comparison, and a last-used write at most once per ``APIKEY_LAST_USED_INTERVAL`` that never makes
the request wait.
"""

import datetime
import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apikeys import crypto, selectors
from apikeys.models import ApiKey
from common import metrics
from common.errors import DomainError

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid access key or secret key."


class KeyRefused(DomainError):
    """A key pair that does not authenticate. ``key`` is the stored key of that access key, if there is one."""

    def __init__(self, message: str, *, code: str, key: ApiKey | None = None):
        super().__init__(message, code=code)
        self.key = key


@sensitive_variables("secret")
def authenticate_api_key(*, access_key: str, secret: str) -> ApiKey:
    """Return the usable key for this pair (one query), or raise KeyRefused.

    An unknown access key and a wrong secret get the same message; only after the secret has
    verified does the error say that the key is inactive or expired. Malformed input is refused
    before the database is asked.
    """
    if not (crypto.is_well_formed_access_key(access_key) and crypto.is_well_formed_secret_key(secret)):
        raise KeyRefused(INVALID_CREDENTIALS, code="authentication_failed")
    key = selectors.key_for_authentication(access_key=access_key)
    if key is None or not crypto.verify_secret(secret, key.secret_hash):
        raise KeyRefused(INVALID_CREDENTIALS, code="authentication_failed", key=key)
    if not key.is_active:
        raise KeyRefused("This API key is inactive.", code="key_inactive", key=key)
    if key.is_expired():
        raise KeyRefused("This API key has expired.", code="key_expired", key=key)
    record_key_use(key=key)
    return key


def record_key_use(*, key: ApiKey) -> None:
    """Note that the key was used, writing at most once per APIKEY_LAST_USED_INTERVAL.

    On a steady-state request this is a comparison with the ``last_used_at`` that authentication
    already loaded: no query. When a write is due it is best effort and never waits on a lock (see
    ``_write_last_used``): a busy or failing database never fails or stalls the request, and the
    next request with the key simply tries again.
    """
    now = timezone.now()
    threshold = now - datetime.timedelta(seconds=settings.APIKEY_LAST_USED_INTERVAL)
    if key.last_used_at is not None and key.last_used_at > threshold:
        return
    try:
        written = _write_last_used(key_id=key.pk, now=now, threshold=threshold)
    except DatabaseError as exc:
        if _is_lock_contention(exc):
            metrics.count_last_used_write("skipped")
            logger.debug("Skipped recording the last use of API key %s: the row or database is busy", key.access_key)
        else:
            metrics.count_last_used_write("failed")
            logger.warning("Could not record the last use of API key %s", key.access_key, exc_info=True)
        return
    # Not written: another worker wrote it first, or the row was locked (SKIP LOCKED).
    metrics.count_last_used_write("written" if written else "skipped")
    if written:
        key.last_used_at = now


def _write_last_used(*, key_id: int, now: datetime.datetime, threshold: datetime.datetime) -> bool:
    """Set ``last_used_at`` if it is older than ``threshold``, in one UPDATE that waits on no lock.

    The ``WHERE last_used_at <= threshold`` condition makes the write happen once per interval
    however many workers see the key as due at the same moment: the first one to commit wins and
    the others update nothing. "Never wait" depends on the database:

    * PostgreSQL (any backend with ``SKIP LOCKED``): the UPDATE takes the row through a subquery
      ``SELECT ... FOR NO KEY UPDATE SKIP LOCKED``, so a row that another transaction holds (a
      deactivation, a deletion, another worker's write) is skipped, not waited for; a
      ``lock_timeout`` of 50 ms bounds the wait for a table lock that a migration holds.
    * SQLite: there is one database-wide write lock, and the connection waits up to its busy
      timeout for it. For this write alone the busy timeout is zero, so a busy database fails the
      write at once with "database is locked"; the caller logs that at debug level.
    """
    alias = router.db_for_write(ApiKey)
    connection = connections[alias]
    keys = ApiKey.objects.using(alias)
    due = keys.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold), pk=key_id)
    # atomic(): a savepoint when the caller is in a transaction, so a failed write leaves it usable.
    with _sqlite_busy_timeout(connection, milliseconds=0), transaction.atomic(using=alias):
        if connection.vendor == "postgresql":
            # SKIP LOCKED passes over rows; a table lock (CREATE INDEX, ADD FOREIGN KEY in a
            # migration) would still make the UPDATE wait, so give up on that after 50 ms.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '50ms'")
        if connection.features.has_select_for_update_skip_locked:
            no_key = connection.features.has_select_for_no_key_update
            free = due.select_for_update(skip_locked=True, no_key=no_key).values("pk")
            return bool(keys.filter(pk__in=free).update(last_used_at=now))
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

"""Reads of API keys that more than one caller needs, and the one-query lookup of key authentication."""

import functools

from django.conf import settings
from django.db import connections, models, router
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

from apikeys.models import ApiKey, State
from common.actor import Actor
from environments import selectors as environment_selectors
from environments.models import Environment, Membership


@functools.lru_cache(maxsize=8)  # one statement per database alias
def _lookup_statement(alias: str) -> str:
    """Return the SQL that loads a key and its environment by access key, built from the models' ``_meta``."""
    quote = connections[alias].ops.quote_name
    key_meta, environment_meta = ApiKey._meta, Environment._meta
    columns = [f"k.{quote(field.column)}" for field in key_meta.concrete_fields]
    columns += [f"e.{quote(field.column)}" for field in environment_meta.concrete_fields]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(key_meta.db_table)} k "
        f"INNER JOIN {quote(environment_meta.db_table)} e "
        f"ON e.{quote(environment_meta.pk.column)} = k.{quote(key_meta.get_field('environment').column)} "
        f"WHERE k.{quote(key_meta.get_field('access_key').column)} = %s"
    )


@sensitive_variables("values", "converted")
def _python_values(connection, fields, values) -> list:
    """Return the row's values as the ORM gives them: aware datetimes, and each field's ``from_db_value``.

    That covers every field these two models have; ``tests/apikeys/test_selectors.py`` compares
    every field with the ORM's answer on SQLite and PostgreSQL, so a field type that needs more
    (a backend's own converter, such as UUIDs on SQLite) fails there before it can be wrong here.
    """
    converted = []
    for field, value in zip(fields, values, strict=True):
        if isinstance(field, models.DateTimeField) and value is not None:
            if isinstance(value, str):
                value = parse_datetime(value)
            if settings.USE_TZ and timezone.is_naive(value):
                # SQLite stores datetimes without a zone, in the connection's time zone.
                value = timezone.make_aware(value, connection.timezone)
        if hasattr(field, "from_db_value"):
            value = field.from_db_value(value, None, connection)
        converted.append(value)
    return converted


@sensitive_variables("row")  # it holds the secret's digest
def key_for_authentication(*, access_key: str) -> ApiKey | None:
    """Return the key with this access key and its environment, in one query, or None.

    Every API request looks a key up, and building this query through the ORM costs several times
    more than the database takes to run it; the statement never changes, so it is built once from
    the models' ``_meta`` and each row is turned into models with ``Model.from_db``. The row is
    read on every call: a key deactivated, deleted or expired a moment ago is seen as such.
    """
    alias = router.db_for_read(ApiKey)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(_lookup_statement(alias), [access_key])
        row = cursor.fetchone()
    if row is None:
        return None
    key_fields, environment_fields = ApiKey._meta.concrete_fields, Environment._meta.concrete_fields
    split = len(key_fields)
    key = ApiKey.from_db(
        alias, [field.attname for field in key_fields], _python_values(connection, key_fields, row[:split])
    )
    key.environment = Environment.from_db(
        alias,
        [field.attname for field in environment_fields],
        _python_values(connection, environment_fields, row[split:]),
    )
    return key


def environment_of_access_key(access_key: str) -> Environment | None:
    """Return the environment of the key with this access key, or None."""
    return Environment.objects.filter(api_keys__access_key=access_key).first()


def keys_of_environment(*, environment: Environment, state: str | None = None) -> QuerySet[ApiKey]:
    """Return the environment's keys, newest first, optionally only those in ``state``."""
    keys = ApiKey.objects.filter(environment=environment)
    if state in State.values:
        keys = keys.filter(state=state)
    return keys.order_by("-created_at", "-id")


def key_in_environment(*, environment: Environment, key_id) -> ApiKey | None:
    """Return the key with ``key_id`` if it belongs to the environment, else None."""
    return ApiKey.objects.filter(environment=environment, pk=key_id).first()


def environments_with_key_counts(*, actor) -> QuerySet[Environment]:
    """Return the environments the actor may see, with its role there and their active key count annotated.

    ``actor`` is ``request.user``, as for every selector (``environments.selectors``).
    """
    user = Actor(principal=actor).user
    role = Membership.objects.filter(environment=OuterRef("pk"), user_id=user.pk if user else None).values("role")
    return environment_selectors.environments_visible_to(actor=actor).annotate(
        my_role=Subquery(role[:1]),
        active_key_count=Count("api_keys", filter=Q(api_keys__state=State.ACTIVE)),
    )


def key_counts_by_state() -> dict[str, int]:
    """Return how many keys are active, expired (active but past their expiry) and inactive, in one query."""
    now = timezone.now()
    expired = Q(state=State.ACTIVE, expires_at__lte=now)
    return ApiKey.objects.aggregate(
        active=Count("pk", filter=Q(state=State.ACTIVE) & ~expired),
        expired=Count("pk", filter=expired),
        inactive=Count("pk", filter=Q(state=State.INACTIVE)),
    )

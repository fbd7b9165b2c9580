"""Reads of API keys that more than one caller needs, and the one-query lookup of key authentication."""

import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, models, router
from django.db.models import BooleanField, Count, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Lower
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


def keys_of_environment(
    *, environment: Environment, state: str | None = None, created_by: str | None = None
) -> QuerySet[ApiKey]:
    """Return the environment's keys, newest first, optionally only those in ``state`` or created by a username."""
    keys = ApiKey.objects.filter(environment=environment).select_related("created_by")
    if state in State.values:
        keys = keys.filter(state=state)
    if created_by:
        keys = keys.filter(created_by__username=created_by)
    return keys.order_by("-created_at", "-id")


# How soon an expiry must come for the key to be flagged in the list and counted on the environments list.
EXPIRING_WITHIN = datetime.timedelta(days=7)


class Status(models.TextChoices):
    """What the keys table filters on: the state badge a person sees (``ApiKey.status_label``)."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    EXPIRED = "expired", "Expired"


def _status_filter(status: str, now: datetime.datetime, prefix: str = "") -> Q:
    """Return the condition that holds for exactly the keys whose badge says ``status``.

    ``prefix`` is the path to the key from the model queried (``"api_keys__"`` from an environment).
    """
    active = Q(**{f"{prefix}state": State.ACTIVE})
    if status == Status.INACTIVE:
        return Q(**{f"{prefix}state": State.INACTIVE})
    expired = Q(**{f"{prefix}expires_at__lte": now})
    if status == Status.EXPIRED:
        return active & expired
    return active & (Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now}))


def _expiring_soon(now: datetime.datetime, prefix: str = "") -> Q:
    """Return the condition for usable keys whose expiry falls within ``EXPIRING_WITHIN`` from ``now``."""
    return Q(
        **{
            f"{prefix}state": State.ACTIVE,
            f"{prefix}expires_at__gt": now,
            f"{prefix}expires_at__lte": now + EXPIRING_WITHIN,
        }
    )


# The keys table's orders, by the ``sort`` value in its URL; a leading "-" reverses one. Keys never
# used count as used longest ago, keys that never expire as expiring last; the id breaks ties so
# that pages never overlap.
KEY_SORTS = {
    "name": ("Name", [Lower("name").asc(), F("id").asc()]),
    "-name": ("Name, Z to A", [Lower("name").desc(), F("id").desc()]),
    "-created": ("Newest first", [F("created_at").desc(), F("id").desc()]),
    "created": ("Oldest first", [F("created_at").asc(), F("id").asc()]),
    "-last_used": ("Used most recently", [F("last_used_at").desc(nulls_last=True), F("id").desc()]),
    "last_used": ("Used longest ago", [F("last_used_at").asc(nulls_first=True), F("id").asc()]),
    "expires": ("Expiring soonest", [F("expires_at").asc(nulls_last=True), F("id").asc()]),
    "-expires": ("Expiring last", [F("expires_at").desc(nulls_first=True), F("id").desc()]),
}
DEFAULT_KEY_SORT = "-created"


def key_table(
    *,
    environment: Environment,
    status: str = "",
    search: str = "",
    sort: str = DEFAULT_KEY_SORT,
    created_by: str = "",
    now=None,
) -> QuerySet[ApiKey]:
    """Return the environment's keys for the dashboard's table: filtered by badge, searched, sorted.

    ``search`` matches the name, description or access key, ignoring case; ``created_by`` keeps the
    keys created by that username. An unknown ``status`` shows every key and an unknown ``sort``
    the default order, so a hand-edited URL still works. Each key is annotated with
    ``expiring_soon``; its creator comes in the same query.
    """
    now = now or timezone.now()
    keys = ApiKey.objects.filter(environment=environment).select_related("created_by")
    if status in Status.values:
        keys = keys.filter(_status_filter(status, now))
    if created_by:
        keys = keys.filter(created_by__username=created_by)
    if search:
        keys = keys.filter(
            Q(name__icontains=search) | Q(description__icontains=search) | Q(access_key__icontains=search)
        )
    _, order = KEY_SORTS.get(sort, KEY_SORTS[DEFAULT_KEY_SORT])
    return keys.annotate(expiring_soon=ExpressionWrapper(_expiring_soon(now), output_field=BooleanField())).order_by(
        *order
    )


@dataclass(frozen=True)
class KeyPage:
    """One page of the keys table: its keys, the page number, and how many keys match in all."""

    keys: list[ApiKey]
    number: int
    total: int


def key_page(keys: QuerySet[ApiKey], *, number: int, per_page: int) -> KeyPage:
    """Return page ``number`` of ``keys`` (the last page if it is past the end), in one query.

    Each row carries the total count as a window annotation, so counting costs no query of its
    own. Only a page past the end, which has no row to carry it, costs a count and a second read.
    """
    number = max(number, 1)
    start = (number - 1) * per_page
    rows = list(keys.annotate(total_count=Window(Count("pk")))[start : start + per_page])
    if rows:
        return KeyPage(keys=rows, number=number, total=rows[0].total_count)
    if number == 1:
        return KeyPage(keys=[], number=1, total=0)
    total = keys.count()
    last = max((total + per_page - 1) // per_page, 1)
    return key_page(keys, number=last, per_page=per_page) if total else KeyPage(keys=[], number=1, total=0)


def key_creators(*, environment: Environment) -> list[str]:
    """Return the usernames of the people who created the environment's keys, in order."""
    return list(
        ApiKey.objects.filter(environment=environment, created_by__isnull=False)
        .order_by("created_by__username")
        .values_list("created_by__username", flat=True)
        .distinct()
    )


def key_in_environment(*, environment: Environment, key_id) -> ApiKey | None:
    """Return the key with ``key_id`` if it belongs to the environment, else None."""
    return ApiKey.objects.filter(environment=environment, pk=key_id).select_related("created_by").first()


def environments_with_key_counts(*, actor) -> QuerySet[Environment]:
    """Return the environments the actor may see, with its role there and their key counts annotated.

    ``active_key_count`` counts the keys whose badge says Active (active and not expired, as the
    keys table's Active filter), ``expiring_key_count`` those of them that expire within
    ``EXPIRING_WITHIN``. ``actor`` is ``request.user``, as for every selector
    (``environments.selectors``).
    """
    now = timezone.now()
    user = Actor(principal=actor).user
    role = Membership.objects.filter(environment=OuterRef("pk"), user_id=user.pk if user else None).values("role")
    return environment_selectors.environments_visible_to(actor=actor).annotate(
        my_role=Subquery(role[:1]),
        active_key_count=Count("api_keys", filter=_status_filter(Status.ACTIVE, now, prefix="api_keys__")),
        expiring_key_count=Count("api_keys", filter=_expiring_soon(now, prefix="api_keys__")),
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

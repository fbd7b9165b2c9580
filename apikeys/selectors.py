"""Reads of API keys that more than one caller needs."""

from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

from apikeys.models import ApiKey, State
from environments.models import Environment

# Stands in for the access key while the lookup's SQL is compiled; never sent to the database.
_PLACEHOLDER = "\x00access-key\x00"


class _PreparedKeyLookup:
    """The authentication query, compiled by the ORM once per database connection.

    Every API request looks a key up by its access key, and compiling that ORM query (joins,
    column lists, quoting) costs several times more than SQLite takes to run it. The SQL and the
    row-to-model plan never change, so they are built once here by Django's own compiler and
    reused with each new access key. Only the *statement* is kept: every call runs it against
    the database, so a key deactivated, deleted or expired a moment ago is seen as such.
    """

    def __init__(self, connection):
        queryset = ApiKey.objects.select_related("environment").filter(access_key=_PLACEHOLDER).order_by()[:1]
        compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = compiler.as_sql()
        if tuple(params) != (_PLACEHOLDER,):
            raise RuntimeError(f"Unexpected parameters in the key lookup: {params!r}")
        select, klass_info = compiler.select, compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1]
        self.key_columns = slice(first, last + 1)
        self.key_fields = [column[0].target.attname for column in select[self.key_columns]]
        self.related = get_related_populators(klass_info, select, connection.alias)
        self.converters = compiler.get_converters([column[0] for column in select[: compiler.col_count]])
        self.compiler = compiler
        self.connection = connection

    def fetch(self, access_key: str) -> ApiKey | None:
        with self.connection.cursor() as cursor:
            cursor.execute(self.sql, [access_key])
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(self.compiler.apply_converters([row], self.converters))
        key = ApiKey.from_db(self.connection.alias, self.key_fields, row[self.key_columns])
        for populator in self.related:
            populator.populate(row, key)
        return key


def key_for_authentication(*, access_key: str) -> ApiKey | None:
    """Return the key with this access key and its environment, in one query, or None."""
    connection = connections[router.db_for_read(ApiKey)]
    # The prepared lookup lives on the connection object it was compiled for (one per thread and
    # database alias), so there is one per connection and it goes away with it.
    lookup = getattr(connection, "_envkeys_key_lookup", None)
    if lookup is None:
        lookup = connection._envkeys_key_lookup = _PreparedKeyLookup(connection)
    return lookup.fetch(access_key)


def keys_of_environment(*, environment: Environment, state: str | None = None) -> QuerySet[ApiKey]:
    """Return the environment's keys, newest first, optionally only those in ``state``."""
    keys = ApiKey.objects.filter(environment=environment)
    if state in State.values:
        keys = keys.filter(state=state)
    return keys.order_by("-created_at", "-id")


def key_in_environment(*, environment: Environment, key_id) -> ApiKey | None:
    """Return the key with ``key_id`` if it belongs to the environment, else None."""
    return ApiKey.objects.filter(environment=environment, pk=key_id).first()

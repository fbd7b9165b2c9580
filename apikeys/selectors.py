"""Reads of API keys that more than one caller needs."""

from django.db.models import QuerySet

from apikeys.models import ApiKey, State
from environments.models import Environment


def key_for_authentication(*, access_key: str) -> ApiKey | None:
    """Return the key with this access key and its environment, in one query, or None."""
    return ApiKey.objects.select_related("environment").filter(access_key=access_key).first()


def keys_of_environment(*, environment: Environment, state: str | None = None) -> QuerySet[ApiKey]:
    """Return the environment's keys, newest first, optionally only those in ``state``."""
    keys = ApiKey.objects.filter(environment=environment)
    if state in State.values:
        keys = keys.filter(state=state)
    return keys.order_by("-created_at", "-id")


def key_in_environment(*, environment: Environment, key_id) -> ApiKey | None:
    """Return the key with ``key_id`` if it belongs to the environment, else None."""
    return ApiKey.objects.filter(environment=environment, pk=key_id).first()

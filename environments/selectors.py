"""Who may see and do what in which environment: the one place these decisions are made.

An *actor* is whatever ``request.user`` is: a Django user, an anonymous user, or the principal
that stands for an environment API key (it carries the key as ``actor.api_key``).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from django.urls import reverse

from common.actor import api_key_of
from common.audit.models import AuditEvent
from environments.models import Environment, GroupMapping, Membership, Role


@dataclass(frozen=True)
class Access:
    """What an actor may do in one environment."""

    view: bool = False
    edit: bool = False
    delete: bool = False
    manage_members: bool = False
    manage_keys: bool = False


NO_ACCESS = Access()
FULL_ACCESS = Access(view=True, edit=True, delete=True, manage_members=True, manage_keys=True)
ROLE_ACCESS = {
    Role.OWNER: FULL_ACCESS,
    Role.MEMBER: Access(view=True, manage_keys=True),
    Role.READ_ONLY: Access(view=True),
}
# A key acts within its own environment: it may read it, and with read-write also edit it and
# manage its keys. It never deletes its environment or manages members.
KEY_ACCESS = {True: Access(view=True, edit=True, manage_keys=True), False: Access(view=True)}


def has_unrestricted_access(actor) -> bool:
    """Return whether the actor may do everything everywhere (superuser, or access control off)."""
    if api_key_of(actor) is not None:
        return False
    return not settings.ACCESS_CONTROL or bool(getattr(actor, "is_superuser", False))


def role_of(*, user, environment: Environment) -> str | None:
    """Return the user's role in the environment, or None if they are not a member."""
    if not getattr(user, "is_authenticated", False) or api_key_of(user) is not None:
        return None
    return Membership.objects.filter(environment=environment, user=user).values_list("role", flat=True).first()


_ROLE_NOT_LOADED = object()


def access_for(*, actor, environment: Environment, role=_ROLE_NOT_LOADED) -> Access:
    """Return what the actor may do in the environment.

    ``role``: the actor's role there when the caller has loaded it already (``my_role`` of
    ``apikeys.selectors.environments_with_key_counts``), which saves a query per environment.
    """
    key = api_key_of(actor)
    if key is not None:
        return KEY_ACCESS[key.can_write] if key.environment_id == environment.pk else NO_ACCESS
    if has_unrestricted_access(actor):
        return FULL_ACCESS
    if role is _ROLE_NOT_LOADED:
        role = role_of(user=actor, environment=environment)
    return ROLE_ACCESS.get(role, NO_ACCESS)


def can_create_environment(*, actor) -> bool:
    """Return whether the actor may create environments (any signed-in user; never a key)."""
    if api_key_of(actor) is not None:
        return False
    return has_unrestricted_access(actor) or bool(getattr(actor, "is_authenticated", False))


def environments_visible_to(*, actor) -> QuerySet[Environment]:
    """Return the environments the actor may see."""
    key = api_key_of(actor)
    if key is not None:
        return Environment.objects.filter(pk=key.environment_id)
    if has_unrestricted_access(actor):
        return Environment.objects.all()
    if not getattr(actor, "is_authenticated", False):
        return Environment.objects.none()
    return Environment.objects.filter(memberships__user=actor)


def visible_environment(*, actor, environment_id: int) -> Environment | None:
    """Return the environment if the actor may see it, else None.

    A key's own environment was loaded with the key, so asking for it costs no query.
    """
    key = api_key_of(actor)
    if key is not None:
        return key.environment if key.environment_id == environment_id else None
    return environments_visible_to(actor=actor).filter(pk=environment_id).first()


def deletion_summary(*, environment: Environment) -> dict[str, int]:
    """Return what deleting the environment takes with it: ``{"environment API keys": 3, "memberships": 2}``.

    Read from the relations that cascade from an environment, so it names what other apps attach
    to environments without importing them; the audit trail is kept (its link is set to null).
    """
    summary = {}
    for relation in Environment._meta.related_objects:
        if relation.on_delete is not models.CASCADE:
            continue
        related = relation.related_model
        summary[str(related._meta.verbose_name_plural)] = related._default_manager.filter(
            **{relation.field.name: environment}
        ).count()
    return summary


def members_of(*, environment: Environment) -> QuerySet[Membership]:
    """Return the environment's memberships with their users."""
    return Membership.objects.filter(environment=environment).select_related("user").order_by("user__username")


def group_mappings_of(*, environment: Environment) -> QuerySet[GroupMapping]:
    """Return the environment's group mappings, by group name."""
    return GroupMapping.objects.filter(environment=environment).order_by("group")


def group_mapping_named(*, environment: Environment, group: str) -> GroupMapping | None:
    """Return the environment's mapping of ``group``, matched without regard to case (as sign-in matches), or None."""
    return GroupMapping.objects.filter(environment=environment, group__iexact=group.strip()).first()


def events_of(*, environment: Environment, action: str | None = None, actor=None) -> QuerySet[AuditEvent]:
    """Return the environment's audit events, newest first, optionally only those of ``action``.

    An API key is not shown member events: keys never see who the members are.
    """
    events = AuditEvent.objects.filter(environment=environment)
    if action:
        events = events.filter(action=action)
    if api_key_of(actor) is not None:
        events = events.exclude(action__startswith="member.")
    return events.order_by("-created_at", "-id")


def environment_by_name_or_id(value: str) -> Environment | None:
    """Return the environment whose name is ``value``, or whose id it is when it is a number."""
    environment = Environment.objects.filter(name=value).first()
    if environment is None and value.isdigit():
        environment = Environment.objects.filter(pk=int(value)).first()
    return environment


def public_endpoint_url(environment_id: int) -> str:
    """Return the environment's absolute API endpoint URL outside a request (PUBLIC_URL based)."""
    return settings.PUBLIC_URL + reverse("api:environment-detail", kwargs={"pk": environment_id})

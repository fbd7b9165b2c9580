"""Lifecycle rules for environments and memberships."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from common.actor import SYSTEM, Actor
from common.audit import records as audit
from common.audit.models import AuditAction
from common.errors import DomainError, clean_text
from environments.models import Environment, Membership, Role


def _check_name(name: str) -> str:
    name = clean_text(model=Environment, field="name", value=name, strip=True)
    if not name:
        raise DomainError("An environment needs a name.", code="required", field="name")
    return name


def create_environment(*, name: str, description: str = "", owner=None, actor: Actor = SYSTEM) -> Environment:
    """Create an environment; ``owner`` (a user) becomes its first owner."""
    name = _check_name(name)
    try:
        with transaction.atomic():
            environment = Environment.objects.create(
                name=name, description=clean_text(model=Environment, field="description", value=description)
            )
            created = {"name": [None, environment.name], "description": [None, environment.description]}
            if owner is not None:
                Membership.objects.create(environment=environment, user=owner, role=Role.OWNER)
                created["owner"] = [None, owner.get_username()]
            audit.record(
                action=AuditAction.ENVIRONMENT_CREATED,
                environment=environment,
                actor=actor,
                target=environment.name,
                changes=created,
            )
    except IntegrityError as exc:
        raise DomainError(f"An environment named {name!r} already exists.", code="name_taken", field="name") from exc
    return environment


def update_environment(
    *,
    environment: Environment,
    name: str | None = None,
    description: str | None = None,
    actor: Actor = SYSTEM,
) -> Environment:
    """Change an environment's name and/or description."""
    values = {}
    if name is not None:
        values["name"] = _check_name(name)
    if description is not None:
        values["description"] = clean_text(model=Environment, field="description", value=description)
    if not values:
        return environment
    try:
        with transaction.atomic():
            # Read the values being replaced under a lock: the caller's object may already hold the new ones.
            locked = Environment.objects.select_for_update().filter(pk=environment.pk)
            before = locked.values("name", "description").first()
            if before is None:
                raise DomainError("This environment no longer exists.", code="not_found")
            Environment.objects.filter(pk=environment.pk).update(**values)
            for field, value in {**before, **values}.items():
                setattr(environment, field, value)
            changes = audit.diff(before, values)
            if changes:
                audit.record(
                    action=AuditAction.ENVIRONMENT_EDITED,
                    environment=environment,
                    actor=actor,
                    target=environment.name,
                    changes=changes,
                )
    except IntegrityError as exc:
        raise DomainError(
            f"An environment named {values['name']!r} already exists.", code="name_taken", field="name"
        ) from exc
    return environment


def delete_environment(*, environment: Environment, actor: Actor = SYSTEM) -> None:
    """Delete an environment with its memberships and API keys; its audit trail stays, by name."""
    with transaction.atomic():
        before = Environment.objects.select_for_update().filter(pk=environment.pk).first()
        if before is None:
            raise DomainError("This environment no longer exists.", code="not_found")
        # Recorded first, so that the deletion detaches this event like every earlier one.
        audit.record(
            action=AuditAction.ENVIRONMENT_DELETED,
            environment=before,
            actor=actor,
            target=before.name,
            changes={"name": [before.name, None], "description": [before.description, None]},
        )
        before.delete()


def add_member(*, environment: Environment, username: str, role: str, actor: Actor = SYSTEM) -> Membership:
    """Give the user with ``username`` a role in the environment."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise DomainError(f"There is no user named {username!r}.", code="invalid", field="username")
    try:
        with transaction.atomic():
            if not Environment.objects.select_for_update().filter(pk=environment.pk).exists():
                raise DomainError("This environment no longer exists.", code="not_found")
            membership = Membership.objects.create(environment=environment, user=user, role=role)
            audit.record(
                action=AuditAction.MEMBER_ADDED,
                environment=environment,
                actor=actor,
                target=user.get_username(),
                changes={"role": [None, role]},
            )
    except IntegrityError as exc:
        raise DomainError(
            f"{username} is already a member of {environment.name}.", code="already_member", field="username"
        ) from exc
    return membership


def ensure_keeps_an_owner(*, membership: Membership, new_role: str | None) -> None:
    """Raise DomainError if giving ``membership`` ``new_role`` (None: removing it) leaves no owner."""
    if membership.role != Role.OWNER or new_role == Role.OWNER:
        return
    other_owners = Membership.objects.filter(environment_id=membership.environment_id, role=Role.OWNER).exclude(
        pk=membership.pk
    )
    if not other_owners.exists():
        raise DomainError("An environment must keep at least one owner.", code="last_owner")


def change_member_role(*, membership: Membership, role: str, actor: Actor = SYSTEM) -> Membership:
    """Change a member's role; the environment always keeps at least one owner."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid", field="role")
    with transaction.atomic():
        # Lock the environment row so two owners cannot demote each other at the same time.
        environment = Environment.objects.select_for_update().filter(pk=membership.environment_id).first()
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            raise DomainError("This membership no longer exists.", code="not_found")
        ensure_keeps_an_owner(membership=current, new_role=role)
        Membership.objects.filter(pk=current.pk).update(role=role)
        if current.role != role:
            audit.record(
                action=AuditAction.MEMBER_CHANGED,
                environment=environment,
                actor=actor,
                target=current.user.get_username(),
                changes={"role": [current.role, role]},
            )
    membership.role = role
    return membership


def remove_member(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    """Remove a member; the environment always keeps at least one owner."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().filter(pk=membership.environment_id).first()
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            raise DomainError("This membership no longer exists.", code="not_found")
        ensure_keeps_an_owner(membership=current, new_role=None)
        audit.record(
            action=AuditAction.MEMBER_REMOVED,
            environment=environment,
            actor=actor,
            target=current.user.get_username(),
            changes={"role": [current.role, None]},
        )
        current.delete()

"""Lifecycle rules for environments and memberships."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction

from common.actor import SYSTEM, Actor
from common.audit import records as audit
from common.audit.models import AuditAction
from common.errors import DomainError, clean_text
from environments import selectors
from environments.models import Environment, GroupMapping, Membership, Role, highest_role


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
                Membership.objects.create(environment=environment, user=owner, role=Role.OWNER, direct_role=Role.OWNER)
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
    """Give the user with ``username`` a direct role in the environment.

    Someone who is a member only through their groups gets the direct role beside it.
    """
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise DomainError(f"There is no user named {username!r}.", code="invalid", field="username")
    already = DomainError(
        f"{username} is already a member of {environment.name}.", code="already_member", field="username"
    )
    try:
        with transaction.atomic():
            if not Environment.objects.select_for_update().filter(pk=environment.pk).exists():
                raise DomainError("This environment no longer exists.", code="not_found")
            membership = Membership.objects.filter(environment=environment, user=user).first()
            if membership is None:
                membership = Membership.objects.create(environment=environment, user=user, role=role, direct_role=role)
                before = None
            elif membership.direct_role:
                raise already
            else:
                before = membership.role
                membership.direct_role = role
                membership.role = highest_role(role, membership.group_role)
                membership.save(update_fields=["direct_role", "role"])
            audit.record(
                action=AuditAction.MEMBER_ADDED,
                environment=environment,
                actor=actor,
                target=user.get_username(),
                # The direct role is named apart only where a role from groups sits beside it.
                changes={"role": [before, membership.role], **({"direct_role": [None, role]} if before else {})},
            )
    except IntegrityError as exc:
        raise already from exc
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
    """Change a member's direct role; the environment always keeps at least one owner.

    The role from groups stays: the member has the higher of the two.
    """
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid", field="role")
    with transaction.atomic():
        # Lock the environment row so two owners cannot demote each other at the same time.
        environment = Environment.objects.select_for_update().filter(pk=membership.environment_id).first()
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            raise DomainError("This membership no longer exists.", code="not_found")
        new_role = highest_role(role, current.group_role)
        ensure_keeps_an_owner(membership=current, new_role=new_role)
        Membership.objects.filter(pk=current.pk).update(role=new_role, direct_role=role)
        changes = audit.diff({"role": current.role}, {"role": new_role})
        if current.group_role and current.direct_role != role:
            changes["direct_role"] = [current.direct_role or None, role]
        if changes:
            audit.record(
                action=AuditAction.MEMBER_CHANGED,
                environment=environment,
                actor=actor,
                target=current.user.get_username(),
                changes=changes,
            )
    membership.role, membership.direct_role = new_role, role
    return membership


def ensure_has_direct_role(*, membership: Membership) -> None:
    """Refuse to remove a member whose only role comes from provider groups: there is nothing to remove here."""
    if not membership.direct_role:
        groups = ", ".join(membership.groups or []) or "their groups"
        raise DomainError(
            f"{membership.user.get_username()} has no direct role here to remove: their role comes from the "
            f"provider groups ({groups}). Remove the group mapping, or take them out of the group at the "
            "provider; the role goes at their next sign-in.",
            code="no_direct_role",
        )


def remove_member(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    """Remove a member's direct role; the environment always keeps at least one owner.

    A member who also has a role from their groups keeps that one: it goes when the group
    mapping is removed or they leave the group.
    """
    with transaction.atomic():
        environment = Environment.objects.select_for_update().filter(pk=membership.environment_id).first()
        current = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if current is None:
            raise DomainError("This membership no longer exists.", code="not_found")
        ensure_has_direct_role(membership=current)
        remaining = current.group_role or None
        ensure_keeps_an_owner(membership=current, new_role=remaining)
        audit.record(
            action=AuditAction.MEMBER_REMOVED,
            environment=environment,
            actor=actor,
            target=current.user.get_username(),
            changes={
                "role": [current.role, remaining],
                **({"direct_role": [current.direct_role or None, None]} if remaining else {}),
            },
        )
        if remaining:
            Membership.objects.filter(pk=current.pk).update(role=remaining, direct_role="")
        else:
            current.delete()


# --- Provider groups mapped to roles ------------------------------------------------------------


def ensure_group_not_mapped(*, environment: Environment, group: str) -> None:
    """Refuse a group the environment already maps. Sign-in matches group names without regard to
    case, so "Platform" is "platform": one group, one mapping."""
    existing = selectors.group_mapping_named(environment=environment, group=group)
    if existing is not None:
        raise DomainError(
            f"The group {group!r} is already mapped in {environment.name}"
            + (f" (as {existing.group!r}; case does not matter)." if existing.group != group.strip() else "."),
            code="already_mapped",
            field="group",
        )


def add_group_mapping(*, environment: Environment, group: str, role: str, actor: Actor = SYSTEM) -> GroupMapping:
    """Map a provider group to a role in the environment; its people get the role at their next sign-in."""
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}.", code="invalid", field="role")
    group = clean_text(model=GroupMapping, field="group", value=group, strip=True)
    if not group:
        raise DomainError("A group mapping needs the group's name.", code="required", field="group")
    try:
        with transaction.atomic():
            if not Environment.objects.select_for_update().filter(pk=environment.pk).exists():
                raise DomainError("This environment no longer exists.", code="not_found")
            ensure_group_not_mapped(environment=environment, group=group)
            mapping = GroupMapping.objects.create(environment=environment, group=group, role=role)
            audit.record(
                action=AuditAction.MAPPING_ADDED,
                environment=environment,
                actor=actor,
                target=group,
                changes={"role": [None, role]},
            )
    except IntegrityError as exc:
        raise DomainError(
            f"The group {group!r} is already mapped in {environment.name}.", code="already_mapped", field="group"
        ) from exc
    return mapping


def remove_group_mapping(*, mapping: GroupMapping, actor: Actor = SYSTEM) -> None:
    """Remove a group mapping. People keep the role it gave them until their next sign-in recomputes it."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().filter(pk=mapping.environment_id).first()
        deleted, _ = GroupMapping.objects.filter(pk=mapping.pk).delete()
        if not deleted:
            raise DomainError("This group mapping no longer exists.", code="not_found")
        audit.record(
            action=AuditAction.MAPPING_REMOVED,
            environment=environment,
            actor=actor,
            target=mapping.group,
            changes={"role": [mapping.role, None]},
        )


def sync_group_roles(*, user, groups: list[str], actor: Actor = SYSTEM) -> list[Membership]:
    """Recompute the user's roles from their provider groups; call it at every provider sign-in.

    Group names match the mappings without regard to case. Direct roles are never touched; a
    membership that only came from groups goes when no group gives it any more. Every change is
    recorded in the environment's audit log. Return the memberships that changed.
    """
    wanted_groups = {group.casefold() for group in groups if group}
    wanted: dict[int, tuple[str, list[str]]] = {}
    for mapping in GroupMapping.objects.order_by("group"):
        if mapping.group.casefold() in wanted_groups:
            role, names = wanted.get(mapping.environment_id, ("", []))
            wanted[mapping.environment_id] = (highest_role(role, mapping.role), [*names, mapping.group])
    changed = []
    with transaction.atomic():
        # One sign-in at a time per person: two at once would both add the same membership.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        current = {
            membership.environment_id: membership
            for membership in Membership.objects.select_for_update()
            .select_related("environment")
            .filter(user=user)
            .filter(models.Q(environment_id__in=wanted) | ~models.Q(group_role=""))
        }
        environments = {environment.pk: environment for environment in Environment.objects.filter(pk__in=wanted)}
        for environment_id in set(wanted) | set(current):
            group_role, names = wanted.get(environment_id, ("", []))
            membership = current.get(environment_id)
            if membership is None:
                environment = environments.get(environment_id)
                if environment is None:
                    continue
                membership = Membership.objects.create(
                    environment=environment, user=user, role=group_role, group_role=group_role, groups=names
                )
                before_role, before_group_role, before_groups = None, None, []
            else:
                if membership.group_role == group_role and membership.groups == names:
                    continue
                before_role, before_group_role = membership.role, membership.group_role or None
                before_groups = membership.groups
                membership.group_role, membership.groups = group_role, names
                membership.role = highest_role(membership.direct_role, group_role)
                if membership.role:
                    membership.save(update_fields=["group_role", "groups", "role"])
                else:
                    membership.delete()
            audit.record(
                action=AuditAction.GROUP_ROLE_CHANGED,
                environment=membership.environment,
                actor=actor,
                target=user.get_username(),
                changes={
                    "role": [before_role, membership.role or None],
                    "group_role": [before_group_role, group_role or None],
                    "groups": [before_groups, names],
                },
            )
            changed.append(membership)
    return changed


def sign_in_from_provider(*, user, provider: str, groups: list[str], address: str = "") -> None:
    """Record a sign-in through an identity provider and recompute the user's roles from ``groups``.

    Both are recorded as done by the user, from ``address``: the provider vouched for them.
    """
    actor = Actor(principal=user, address=address)
    with transaction.atomic():
        audit.record(
            action=AuditAction.PROVIDER_SIGNIN,
            environment=None,
            actor=actor,
            target=provider,
            changes={"groups": [None, sorted(groups)]},
        )
        sync_group_roles(user=user, groups=groups, actor=actor)

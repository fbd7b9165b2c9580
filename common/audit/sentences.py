"""The audit log as people read it: one sentence per event, and field changes labelled as on the forms.

"alice deactivated key deploy-bot (EK...)": keys are named by the name they had when the event
happened, read from the log's own earlier events (the audit log imports no app, and a deleted key
keeps its name here). Everything a user typed is escaped: sentences are built with ``format_html``.
"""

import datetime
from bisect import bisect_right

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from common.audit.models import ActorType, AuditAction, AuditEvent

# Field labels as the dashboard's forms show them; any other field is its name with a capital.
FIELD_LABELS = {"expires_at": "Expires", "group_role": "Role from groups", "direct_role": "Direct role"}
# Stored choice values whose label on the forms is the value with a capital ("read-only" is
# "Read-only", "active" is "Active", "owner" is "Owner").
# The order field changes are listed in: as on the forms, whatever order the database kept
# (PostgreSQL's jsonb sorts an object's keys by length); fields not named here follow by name.
FIELD_ORDER = (
    "name",
    "description",
    "permission",
    "expires_at",
    "state",
    "role",
    "direct_role",
    "group_role",
    "groups",
)
CHOICE_FIELDS = frozenset({"permission", "state", "role", "group_role", "direct_role"})
REFUSAL_REASONS = {
    "authentication_failed": "wrong secret key",
    "key_inactive": "the key is inactive",
    "key_expired": "the key has expired",
    "wrong_environment": "a key of another environment",
    "permission_denied": "a read-only key asked to change something",
}
_KEY_EVENTS = (AuditAction.APIKEY_CREATED, AuditAction.APIKEY_EDITED, AuditAction.APIKEY_DELETED)
_VERBS = {
    AuditAction.APIKEY_CREATED: "created",
    AuditAction.APIKEY_EDITED: "edited",
    AuditAction.APIKEY_ACTIVATED: "activated",
    AuditAction.APIKEY_DEACTIVATED: "deactivated",
    AuditAction.APIKEY_DELETED: "deleted",
    AuditAction.ENVIRONMENT_CREATED: "created",
    AuditAction.ENVIRONMENT_EDITED: "edited",
    AuditAction.ENVIRONMENT_DELETED: "deleted",
}


def field_label(field: str) -> str:
    """Return the label the forms give ``field``."""
    return FIELD_LABELS.get(field, capfirst(field.replace("_", " ")))


def value_label(field: str, value) -> str:
    """Return a recorded value as the forms show it: choices by label, times in the server's time zone."""
    if value is None:
        return "Never" if field == "expires_at" else "—"
    if field == "expires_at" and isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if timezone.is_aware(moment) else value
    if field in CHOICE_FIELDS and isinstance(value, str):
        return capfirst(value)
    if value == "":
        return "(empty)"
    if isinstance(value, list):  # provider groups
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


class _KeyNames:
    """The name each access key had at each point of the log, from its created/edited/deleted events."""

    def __init__(self, events: list[AuditEvent]):
        access_keys = {event.target for event in events if event.target} | {
            event.actor_name for event in events if event.actor_type == ActorType.APIKEY
        }
        environments = {event.environment_id for event in events if event.environment_id}
        self._history: dict[str, list[tuple[tuple, str]]] = {}
        if not access_keys or not environments:
            return
        rows = (
            AuditEvent.objects.filter(
                action__in=_KEY_EVENTS, target__in=access_keys, environment_id__in=environments, changes__has_key="name"
            )
            .order_by("created_at", "id")
            .values_list("target", "created_at", "id", "changes")
        )
        for target, created_at, pk, changes in rows:
            old, new = changes["name"]
            self._history.setdefault(target, []).append(((created_at, pk), new if new is not None else old))

    def at(self, access_key: str, event: AuditEvent) -> str:
        """Return the key's name as of ``event`` (its latest name before it, else its first known name)."""
        history = self._history.get(access_key)
        if not history:
            return ""
        index = bisect_right([moment for moment, _name in history], (event.created_at, event.pk))
        return history[max(index - 1, 0)][1]


def _key(access_key: str, name: str) -> SafeString:
    if name:
        return format_html('key <strong class="key-name">{}</strong> (<code>{}</code>)', name, access_key)
    return format_html("key <code>{}</code>", access_key)


def _actor(event: AuditEvent, names: _KeyNames) -> SafeString:
    if event.actor_type == ActorType.USER:
        return format_html("<strong>{}</strong>", event.actor_name or "A deleted user")
    if event.actor_type == ActorType.APIKEY:
        return format_html("API {}", _key(event.actor_name, names.at(event.actor_name, event)))
    if event.actor_type == ActorType.SYSTEM:
        return format_html("{}", "The system (a management command)")
    return format_html("{}", "Someone (access control off)")


def _sentence(event: AuditEvent, names: _KeyNames) -> SafeString:
    action = event.action
    changes = event.changes or {}
    if action == AuditAction.AUTH_REFUSED:
        attempts = "1 refused attempt" if event.count == 1 else f"{event.count} refused attempts"
        reason = REFUSAL_REASONS.get(event.reason, event.reason or "refused")
        if event.target:
            sentence = format_html(
                "{} with {} from <strong>{}</strong>: {}",
                attempts,
                _key(event.target, names.at(event.target, event)),
                event.address or "an unknown address",
                reason,
            )
        else:
            sentence = format_html(
                "{} from <strong>{}</strong>: {}", attempts, event.address or "an unknown address", reason
            )
        forwarded = changes.get("forwarded")
        if forwarded:  # refused at a reverse proxy's authorize request: where the request was going
            sentence = format_html(
                "{}, going to <code>{}{}</code>", sentence, forwarded.get("host", ""), forwarded.get("path", "")
            )
        return sentence
    actor = _actor(event, names)
    if action.startswith("apikey."):
        return format_html("{} {} {}", actor, _VERBS[action], _key(event.target, names.at(event.target, event)))
    if action.startswith("environment."):
        return format_html("{} {} environment <strong>{}</strong>", actor, _VERBS[action], event.target)
    old_role, new_role = changes.get("role", [None, None])
    if action == AuditAction.MEMBER_ADDED:
        return format_html("{} added <strong>{}</strong> as {}", actor, event.target, value_label("role", new_role))
    if action == AuditAction.MEMBER_CHANGED:
        return format_html(
            "{} changed the role of <strong>{}</strong> from {} to {}",
            actor,
            event.target,
            value_label("role", old_role),
            value_label("role", new_role),
        )
    if action == AuditAction.MAPPING_ADDED:
        return format_html(
            "{} mapped group <strong>{}</strong> to {}", actor, event.target, value_label("role", new_role)
        )
    if action == AuditAction.MAPPING_REMOVED:
        return format_html(
            "{} removed the mapping of group <strong>{}</strong> ({})",
            actor,
            event.target,
            value_label("role", old_role),
        )
    if action == AuditAction.GROUP_ROLE_CHANGED:
        return format_html(
            "Signing in, <strong>{}</strong>'s role from groups changed: {} → {}",
            event.target,
            value_label("role", old_role),
            value_label("role", new_role),
        )
    if action == AuditAction.MEMBER_REMOVED:
        return format_html("{} removed <strong>{}</strong> ({})", actor, event.target, value_label("role", old_role))
    return format_html("{}: {} {}", actor, event.get_action_display(), event.target)


def _changes(event: AuditEvent) -> list[str]:
    """Return the event's field changes as lines: "Name: old → new", or "Name: new" on creation."""
    lines = []
    if event.action == AuditAction.AUTH_REFUSED:  # its changes say where a request was going: in the sentence
        return lines
    changes = event.changes or {}
    for field in sorted(changes, key=_field_position):
        old, new = changes[field]
        label = field_label(field)
        if event.action.endswith(".created") or event.action == AuditAction.MEMBER_ADDED:
            if new != "":  # a field left empty on creation says nothing
                lines.append(f"{label}: {value_label(field, new)}")
        elif event.action.endswith((".deleted", ".removed")):
            lines.append(f"{label} was: {value_label(field, old)}")
        else:
            lines.append(f"{label}: {value_label(field, old)} → {value_label(field, new)}")
    return lines


def _field_position(field: str) -> tuple[int, str]:
    return (FIELD_ORDER.index(field) if field in FIELD_ORDER else len(FIELD_ORDER), field)


def describe(events) -> list[dict]:
    """Return each event with its sentence and its labelled changes, for the audit log page.

    Costs one query for the whole page (the key names), whatever its length.
    """
    events = list(events)
    names = _KeyNames(events)
    return [{"event": event, "sentence": _sentence(event, names), "changes": _changes(event)} for event in events]

"""Dashboard pages for environments and their members: thin views over services and selectors.

The list of environments, which counts their keys, is ``apikeys.views.environment_list``.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.actor import Actor
from common.audit.models import AuditAction
from common.audit.refusals import settle_refusals
from common.audit.sentences import describe
from common.dashboard import dashboard_view, form_error
from common.errors import DomainError
from environments import selectors, services
from environments.context_processors import CURRENT_ENVIRONMENT, current_environment
from environments.dashboard import load_environment
from environments.forms import AddMemberForm, EnvironmentForm, GroupMappingForm, MemberRoleForm
from environments.models import Role
from environments.serializers import member_url

EVENTS_PER_PAGE = 50

# --- Pages ------------------------------------------------------------------------------------


@require_GET
@dashboard_view
def home(request):
    """Open the remembered environment's API page, or the list of environments."""
    environment = current_environment(request)
    if environment is not None:
        return redirect("apikeys:list", environment_id=environment.pk)
    return redirect("apikeys:environment-list")


@require_http_methods(["GET", "POST"])
@dashboard_view
def environment_create(request):
    """Add an environment; the person who adds it becomes its owner."""
    if not selectors.can_create_environment(actor=request.user):
        raise PermissionDenied
    form = EnvironmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actor = Actor.of(request)
            environment = services.create_environment(owner=actor.user, actor=actor, **form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Environment {environment.name} added.")
            return redirect("apikeys:list", environment_id=environment.pk)
    return render(request, "environments/environment_form.html", {"form": form, "environment": None})


@require_http_methods(["GET", "POST"])
@dashboard_view
def environment_edit(request, environment_id: int):
    """Change an environment's name and description (owners)."""
    environment, _ = load_environment(request, environment_id, need="edit")
    form = EnvironmentForm(
        request.POST or None, initial={"name": environment.name, "description": environment.description}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_environment(environment=environment, actor=Actor.of(request), **form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Environment {environment.name} saved.")
            return redirect("apikeys:environment-list")
    return render(request, "environments/environment_form.html", {"form": form, "environment": environment})


@require_http_methods(["GET", "POST"])
@dashboard_view
def environment_delete(request, environment_id: int):
    """Ask for confirmation, then delete an environment with its keys and members (owners)."""
    environment, _ = load_environment(request, environment_id, need="delete")
    if request.method == "POST":
        try:
            services.delete_environment(environment=environment, actor=Actor.of(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            request.session.pop(CURRENT_ENVIRONMENT, None)
            messages.success(request, f"Environment {environment.name} deleted, with its API keys.")
        return redirect("apikeys:environment-list")
    return render(
        request,
        "environments/environment_confirm_delete.html",
        {"environment": environment, "key_count": environment.api_keys.count()},
    )


@require_POST
@dashboard_view
def switch_environment(request):
    """Make another environment the current one and open its API page."""
    try:
        environment_id = int(request.POST.get("environment", ""))
    except ValueError:
        raise Http404("No such environment.") from None
    environment, _ = load_environment(request, environment_id)
    return redirect("apikeys:list", environment_id=environment.pk)


@require_http_methods(["GET", "POST"])
@dashboard_view
def members(request, environment_id: int):
    """List an environment's members; owners add members here (POST)."""
    environment, access = load_environment(request, environment_id)
    form = AddMemberForm(request.POST or None)
    if request.method == "POST":
        if not access.manage_members:
            raise PermissionDenied
        if form.is_valid():
            try:
                membership = services.add_member(environment=environment, actor=Actor.of(request), **form.cleaned_data)
            except DomainError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    f"{membership.user.username} added to {environment.name} as {membership.get_role_display()}.",
                )
                return redirect("environments:members", environment_id=environment.pk)
    return render(
        request,
        "environments/members.html",
        {
            "environment": environment,
            "access": access,
            "rows": [
                {
                    "membership": membership,
                    "api_url": member_url(membership, request),
                }
                for membership in selectors.members_of(environment=environment)
            ],
            "form": form,
            "roles": Role.choices,
            "mappings": selectors.group_mappings_of(environment=environment),
            # Its own ids: the add-member form beside it has a "role" field too.
            "mapping_form": GroupMappingForm(auto_id="id_group_%s"),
            "tab": "members",
        },
    )


def _membership_or_404(environment, membership_id: int):
    membership = selectors.members_of(environment=environment).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


@require_POST
@dashboard_view
def member_role(request, environment_id: int, membership_id: int):
    """Change a member's role (owners); an environment always keeps an owner."""
    environment, _ = load_environment(request, environment_id, need="manage_members")
    membership = _membership_or_404(environment, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles: Owner, Member or Read-only.")
    else:
        try:
            services.change_member_role(
                membership=membership,
                role=form.cleaned_data["role"],
                actor=Actor.of(request),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{membership.user.username} is now {membership.get_role_display()}.")
    return redirect("environments:members", environment_id=environment.pk)


@require_http_methods(["GET", "POST"])
@dashboard_view
def member_remove(request, environment_id: int, membership_id: int):
    """Ask for confirmation, then remove a member (owners); the last owner stays."""
    environment, _ = load_environment(request, environment_id, need="manage_members")
    membership = _membership_or_404(environment, membership_id)
    if request.method == "GET":
        try:
            services.ensure_has_direct_role(membership=membership)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("environments:members", environment_id=environment.pk)
        return render(
            request, "environments/member_confirm_remove.html", {"environment": environment, "membership": membership}
        )
    try:
        services.remove_member(membership=membership, actor=Actor.of(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.username} removed from {environment.name}.")
        if selectors.visible_environment(actor=request.user, environment_id=environment.pk) is None:
            return redirect("apikeys:environment-list")
    return redirect("environments:members", environment_id=environment.pk)


@require_POST
@dashboard_view
def group_mapping_add(request, environment_id: int):
    """Map a provider group to a role (owners); its people get the role at their next sign-in."""
    environment, _ = load_environment(request, environment_id, need="manage_members")
    form = GroupMappingForm(request.POST)
    if not form.is_valid():
        problems = " ".join(
            f"{form.fields[name].label}: {' '.join(errors)}"
            for name, errors in form.errors.items()
            if name in form.fields
        )
        messages.error(request, f"The group was not mapped. {problems}")
    else:
        try:
            mapping = services.add_group_mapping(environment=environment, actor=Actor.of(request), **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"People in the group {mapping.group} get {mapping.get_role_display()} at their next sign-in.",
            )
    return redirect("environments:members", environment_id=environment.pk)


@require_POST
@dashboard_view
def group_mapping_remove(request, environment_id: int, mapping_id: int):
    """Remove a group mapping (owners); the role it gave goes at each person's next sign-in."""
    environment, _ = load_environment(request, environment_id, need="manage_members")
    mapping = selectors.group_mappings_of(environment=environment).filter(pk=mapping_id).first()
    if mapping is None:
        raise Http404("No such group mapping.")
    try:
        services.remove_group_mapping(mapping=mapping, actor=Actor.of(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The group {mapping.group} no longer gives a role here from the next sign-in on.")
    return redirect("environments:members", environment_id=environment.pk)


@require_GET
@dashboard_view
def events(request, environment_id: int):
    """Show the environment's audit log, newest first, a page at a time, optionally one action only."""
    environment, _access = load_environment(request, environment_id)
    settle_refusals(environment=environment)
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    page = Paginator(
        selectors.events_of(environment=environment, action=action or None, actor=request.user), EVENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "environments/events.html",
        {
            "environment": environment,
            "page": page,
            "rows": describe(page.object_list),
            "action": action,
            "actions": AuditAction.choices,
            "tab": "events",
        },
    )

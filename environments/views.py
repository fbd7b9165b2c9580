"""Dashboard pages for environments and their members: thin views over services and selectors.

The helpers at the top (``dashboard_view``, ``load_environment``, ``form_error``, ``next_or``) are
shared with the API key pages in ``apikeys.views``.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework.reverse import reverse as api_reverse

from config.client import client_address
from environments import audit, selectors, services
from environments.context_processors import CURRENT_ENVIRONMENT, current_environment
from environments.exceptions import DomainError
from environments.forms import AddMemberForm, EnvironmentForm, MemberRoleForm
from environments.models import AuditAction, Role
from environments.permissions import PassesAccessControl
from environments.serializers import environment_links

EVENTS_PER_PAGE = 50

# --- Helpers shared by every dashboard page ---------------------------------------------------


def dashboard_view(view):
    """Send visitors to sign in when access control is on and they are anonymous."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not PassesAccessControl().has_permission(request, view=None):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def load_environment(request, environment_id: int, *, need: str = "view"):
    """Return ``(environment, access)``: 404 if the requester may not see it, 403 if ``need`` is missing.

    The environment becomes the one the session remembers, so the header's switcher and the
    home page follow the person around.
    """
    environment = selectors.visible_environment(actor=request.user, environment_id=environment_id)
    if environment is None:
        raise Http404("No such environment.")
    access = selectors.access_for(actor=request.user, environment=environment)
    if not getattr(access, need):
        raise PermissionDenied
    if request.session.get(CURRENT_ENVIRONMENT) != environment.pk:
        request.session[CURRENT_ENVIRONMENT] = environment.pk
    return environment, access


def form_error(form, exc: DomainError, *, fields: dict[str, str] | None = None) -> None:
    """Show a service's refusal next to the field it names (``fields`` renames), else above the form."""
    field = (fields or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def next_or(request, default: str) -> str:
    """Return the posted ``next`` URL when it is a local one, else ``default``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _as_user(request):
    """Return the signed-in user, or None (access control off and nobody signed in)."""
    return request.user if request.user.is_authenticated else None


def _role_label(request, role: str | None) -> str:
    if role:
        return Role(role).label
    if getattr(request.user, "is_superuser", False):
        return "Superuser"
    return "Anyone (access control off)"


# --- Pages ------------------------------------------------------------------------------------


@require_GET
@dashboard_view
def home(request):
    """Open the remembered environment's API page, or the list of environments."""
    environment = current_environment(request)
    if environment is not None:
        return redirect("apikeys:list", environment_id=environment.pk)
    return redirect("environments:list")


@require_GET
@dashboard_view
def environment_list(request):
    """List the environments the requester may see, with their role and active key count."""
    rows = [
        {
            "environment": environment,
            "role": _role_label(request, environment.my_role),
            "access": selectors.access_for(actor=request.user, environment=environment, role=environment.my_role),
            "api_url": environment_links(environment.pk, request)["self"],
        }
        for environment in selectors.environments_for_listing(actor=request.user).order_by("name")
    ]
    return render(
        request,
        "environments/environment_list.html",
        {"rows": rows, "can_create": selectors.can_create_environment(actor=request.user)},
    )


@require_http_methods(["GET", "POST"])
@dashboard_view
def environment_create(request):
    """Add an environment; the person who adds it becomes its owner."""
    if not selectors.can_create_environment(actor=request.user):
        raise PermissionDenied
    form = EnvironmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            environment = services.create_environment(
                owner=_as_user(request), actor=request.user, address=client_address(request), **form.cleaned_data
            )
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
            services.update_environment(
                environment=environment, actor=request.user, address=client_address(request), **form.cleaned_data
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Environment {environment.name} saved.")
            return redirect("environments:list")
    return render(request, "environments/environment_form.html", {"form": form, "environment": environment})


@require_http_methods(["GET", "POST"])
@dashboard_view
def environment_delete(request, environment_id: int):
    """Ask for confirmation, then delete an environment with its keys and members (owners)."""
    environment, _ = load_environment(request, environment_id, need="delete")
    if request.method == "POST":
        try:
            services.delete_environment(environment=environment, actor=request.user, address=client_address(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            request.session.pop(CURRENT_ENVIRONMENT, None)
            messages.success(request, f"Environment {environment.name} deleted, with its API keys.")
        return redirect("environments:list")
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
                membership = services.add_member(
                    environment=environment, actor=request.user, address=client_address(request), **form.cleaned_data
                )
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
                    "api_url": api_reverse(
                        "api:member-detail",
                        kwargs={"environment_pk": environment.pk, "pk": membership.pk},
                        request=request,
                    ),
                }
                for membership in selectors.members_of(environment=environment)
            ],
            "form": form,
            "roles": Role.choices,
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
                actor=request.user,
                address=client_address(request),
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
        return render(
            request, "environments/member_confirm_remove.html", {"environment": environment, "membership": membership}
        )
    try:
        services.remove_member(membership=membership, actor=request.user, address=client_address(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.username} removed from {environment.name}.")
        if selectors.visible_environment(actor=request.user, environment_id=environment.pk) is None:
            return redirect("environments:list")
    return redirect("environments:members", environment_id=environment.pk)


@require_GET
@dashboard_view
def events(request, environment_id: int):
    """Show the environment's audit log, newest first, a page at a time, optionally one action only."""
    environment, _access = load_environment(request, environment_id)
    audit.settle_refusals(environment=environment)
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    page = Paginator(
        selectors.events_of(environment=environment, action=action or None, actor=request.user), EVENTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "environments/events.html",
        {"environment": environment, "page": page, "action": action, "actions": AuditAction.choices, "tab": "events"},
    )

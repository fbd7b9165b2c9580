"""Dashboard pages for API keys: the list of environments with their keys, and each environment's "API" page."""

import secrets
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apikeys import selectors, services
from apikeys.forms import ApiKeyCreateForm, ApiKeyEditForm
from apikeys.models import Action, State
from apikeys.serializers import key_actions, key_url
from common.actor import Actor
from common.dashboard import dashboard_view, form_error, next_or
from common.errors import DomainError
from environments import selectors as environment_selectors
from environments.dashboard import load_environment, role_label
from environments.serializers import environment_url

# The session remembers which add-key forms were handed out, so a form is used at most once:
# reloading the "API Key Created" page (a re-sent POST) never creates a second key. Only these
# random form ids are stored, never anything about the key.
FORM_IDS = "apikey_form_ids"
_FORM_IDS_KEPT = 10

STATE_FILTERS = [("", "All"), (State.ACTIVE, "Active"), (State.INACTIVE, "Inactive")]


def _endpoint(request, environment) -> dict:
    """Return the environment's absolute endpoint URL and the host name a .netrc line needs."""
    url = environment_url(environment.pk, request)
    return {"endpoint": url, "netrc_host": urlsplit(url).hostname}


def _key_or_404(environment, key_id: int):
    key = selectors.key_in_environment(environment=environment, key_id=key_id)
    if key is None:
        raise Http404("No such API key.")
    key.environment = environment
    return key


def _list_url(environment) -> str:
    return reverse("apikeys:list", kwargs={"environment_id": environment.pk})


@require_GET
@dashboard_view
def environment_list(request):
    """List the environments the requester may see, with their role and active key count."""
    rows = [
        {
            "environment": environment,
            "role": role_label(request, environment.my_role),
            "access": environment_selectors.access_for(
                actor=request.user, environment=environment, role=environment.my_role
            ),
            "api_url": environment_url(environment.pk, request),
        }
        for environment in selectors.environments_with_key_counts(actor=request.user).order_by("name")
    ]
    return render(
        request,
        "environments/environment_list.html",
        {"rows": rows, "can_create": environment_selectors.can_create_environment(actor=request.user)},
    )


@require_GET
@dashboard_view
def key_list(request, environment_id: int):
    """Show the environment's endpoint, how to use a key, and its keys with their actions."""
    environment, access = load_environment(request, environment_id)
    state = request.GET.get("state", "")
    if state not in State.values:
        state = ""
    creators = selectors.key_creators(environment=environment)
    created_by = request.GET.get("created_by", "")
    if created_by not in creators:
        created_by = ""
    rows = [
        {
            "key": key,
            "actions": key_actions(key, request=request, can_manage=access.manage_keys),
            "api_url": key_url(key, request),
        }
        for key in selectors.keys_of_environment(environment=environment, state=state or None, created_by=created_by)
    ]
    return render(
        request,
        "apikeys/key_list.html",
        {
            "environment": environment,
            "access": access,
            "rows": rows,
            "state": state,
            "state_filters": STATE_FILTERS,
            "creators": creators,
            "created_by": created_by,
            "tab": "api",
            **_endpoint(request, environment),
        },
    )


@require_http_methods(["GET", "POST"])
@dashboard_view
@sensitive_variables("secret")
def key_create(request, environment_id: int):
    """Add a key; the response to the POST is the one and only page that shows its secret key."""
    environment, _ = load_environment(request, environment_id, need="manage_keys")
    issued = request.session.get(FORM_IDS, [])
    if request.method == "GET":
        form_id = secrets.token_urlsafe(16)
        request.session[FORM_IDS] = [*issued, form_id][-_FORM_IDS_KEPT:]
        form = ApiKeyCreateForm()
    else:
        form_id = request.POST.get("form_id", "")
        if form_id not in issued:
            messages.warning(
                request,
                "That add-key form was already used, so no new key was created. "
                "A secret key is shown only once; add a new key if you need another one.",
            )
            return redirect(_list_url(environment))
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            try:
                key, secret = services.create_api_key(
                    environment=environment,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    permission=form.cleaned_data["permission"],
                    expires_at=form.expires_at(),
                    actor=Actor.of(request),
                )
            except DomainError as exc:
                form_error(form, exc, fields={"expires_at": "expires_on"})
            else:
                request.session[FORM_IDS] = [other for other in issued if other != form_id]
                key.environment = environment
                response = render(
                    request,
                    "apikeys/key_created.html",
                    {"environment": environment, "key": key, "secret_key": secret, **_endpoint(request, environment)},
                )
                response["Cache-Control"] = "no-store"
                return response
    return render(
        request, "apikeys/key_form.html", {"environment": environment, "form": form, "form_id": form_id, "tab": "api"}
    )


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_edit(request, environment_id: int, key_id: int):
    """Change a key's name and description; its access key is shown, never changed."""
    environment, _ = load_environment(request, environment_id, need="manage_keys")
    key = _key_or_404(environment, key_id)
    form = ApiKeyEditForm(request.POST or None, initial={"name": key.name, "description": key.description})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_api_key(key=key, actor=Actor.of(request), **form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"API key {key.access_key} saved.")
            return redirect(_list_url(environment))
    return render(
        request, "apikeys/key_edit.html", {"environment": environment, "key": key, "form": form, "tab": "api"}
    )


def _change_state(request, environment_id: int, key_id: int, service, done: str):
    """Apply a state service to the key, then go back with its outcome as a message."""
    environment, _ = load_environment(request, environment_id, need="manage_keys")
    key = _key_or_404(environment, key_id)
    try:
        service(key=key, actor=Actor.of(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"API key {key.access_key} {done}.")
    return redirect(next_or(request, _list_url(environment)))


@require_POST
@dashboard_view
def key_deactivate(request, environment_id: int, key_id: int):
    """Deactivate a key: it is refused from the very next request on."""
    return _change_state(
        request, environment_id, key_id, services.deactivate_api_key, "deactivated: it can no longer be used"
    )


@require_POST
@dashboard_view
def key_activate(request, environment_id: int, key_id: int):
    """Activate an inactive key again."""
    return _change_state(request, environment_id, key_id, services.activate_api_key, "activated: it can be used again")


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_delete(request, environment_id: int, key_id: int):
    """Ask for confirmation, then delete an inactive key."""
    environment, _ = load_environment(request, environment_id, need="manage_keys")
    key = _key_or_404(environment, key_id)
    if request.method == "POST":
        try:
            services.delete_api_key(key=key, actor=Actor.of(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"API key {key.access_key} deleted.")
        return redirect(_list_url(environment))
    try:
        key.ensure_allows(Action.DELETE)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_list_url(environment))
    return render(request, "apikeys/key_confirm_delete.html", {"environment": environment, "key": key, "tab": "api"})

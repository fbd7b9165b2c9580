"""Dashboard pages for API keys: the list of environments with their keys, and each environment's "API" page."""

import datetime
import secrets
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apikeys import forward_auth, selectors, services
from apikeys.forms import ApiKeyCreateForm, ApiKeyEditForm
from apikeys.models import Action
from apikeys.serializers import key_actions, key_url
from common import counters
from common.actor import Actor
from common.api.links import links_for
from common.dashboard import dashboard_view, form_error, next_or
from common.errors import DomainError
from environments import selectors as environment_selectors
from environments.dashboard import load_environment, role_label
from environments.serializers import environment_url

# The session remembers which add-key forms were handed out, so a form is used at most once:
# reloading the "API Key Created" page or a second click on Create (a re-sent POST) never creates
# a second key. It also remembers which key each used form created (its id, nothing secret), so
# that the repeated post can name that key: the browser shows only the last response, and the
# secret of the first one is lost.
FORM_IDS = "apikey_form_ids"
USED_FORM_IDS = "apikey_used_form_ids"
_FORM_IDS_KEPT = 10
# Two posts of one form that reach the server at the same time both read a session in which the
# form is unused: the first to count the form's claim in the cache (atomic on every backend)
# creates the key, the other is answered as a repeat.
_FORM_CLAIM_SECONDS = 600

# The keys table: its filters by badge, the columns whose header sorts (with the order a first
# click gives), how many keys a page holds, and the longest search kept.
STATE_FILTERS = [("", "All"), *selectors.Status.choices]
SORTABLE_COLUMNS = {"name": "name", "created": "-created", "last_used": "-last_used", "expires": "expires"}
KEYS_PER_PAGE = 50
SEARCH_MAX_LENGTH = 100
_LAST_PAGE_ASKED = 1_000_000


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


def _named(key) -> str:
    """Return how messages name a key: its name and its access key."""
    return f"“{key.name}” ({key.access_key})" if key.name else f"{key.access_key} (no name)"


def _ago(moment: datetime.datetime, now: datetime.datetime) -> str:
    """Return how long ago ``moment`` was, in its largest unit: "3 days ago", "just now"."""
    if now - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


def _expiry(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """Return when a key expires as a person reads it: "in 5 days", "expired 2 days ago", "never"."""
    if moment is None:
        return "Never"
    if moment <= now:
        return f"expired {_ago(moment, now)}"
    if moment - now < datetime.timedelta(minutes=1):
        return "in less than a minute"
    return f"in {timesince(now, moment, depth=1)}"


def _page_number(value: str | None) -> int:
    """Return the page number asked for, or 1 for anything that is not a positive number.

    A number past ``_LAST_PAGE_ASKED`` is read as that: its offset would overflow the database's
    integers, and any page that far is past the end anyway, which shows the last page.
    """
    try:
        return min(max(int(value or 1), 1), _LAST_PAGE_ASKED)
    except ValueError:
        return 1


def _local_next(request, target: str, default: str) -> str:
    """Return ``target`` when it is a URL of this site, else ``default``."""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


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
        {
            "rows": rows,
            "can_create": environment_selectors.can_create_environment(actor=request.user),
            "expiring_within_days": selectors.EXPIRING_WITHIN.days,
        },
    )


@require_GET
@dashboard_view
def key_list(request, environment_id: int):
    """Show the environment's endpoint, how to use a key, and a page of its keys with their actions.

    The filter (``state``), the search (``q``), the order (``sort``) and the page (``page``) are
    all in the URL, so a view of the table can be bookmarked and the Back button walks through
    them. Values that make no sense fall back to the default instead of failing.
    """
    environment, access = load_environment(request, environment_id)
    now = timezone.now()
    state = request.GET.get("state", "")
    if state not in selectors.Status.values:
        state = ""
    # PostgreSQL refuses NUL characters in text, so a search never carries one to it.
    search = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]
    creators = selectors.key_creators(environment=environment)
    created_by = request.GET.get("created_by", "")
    if created_by not in creators:
        created_by = ""
    sort = request.GET.get("sort", "")
    if sort not in selectors.KEY_SORTS:
        sort = selectors.DEFAULT_KEY_SORT
    found = selectors.key_page(
        selectors.key_table(
            environment=environment, status=state, search=search, sort=sort, created_by=created_by, now=now
        ),
        number=_page_number(request.GET.get("page")),
        per_page=KEYS_PER_PAGE,
    )
    # The page's arithmetic is Django's; the total came with the rows, so it is counted over a range.
    page = Paginator(range(found.total), KEYS_PER_PAGE).get_page(found.number)
    params = {
        "state": state,
        "q": search,
        "created_by": created_by,
        "sort": sort if sort != selectors.DEFAULT_KEY_SORT else "",
    }

    def url(**changes) -> str:
        query = urlencode({name: value for name, value in {**params, **changes}.items() if value})
        return f"?{query}" if query else request.path

    rows = [
        {
            "key": key,
            "actions": key_actions(key, request=request, can_manage=access.manage_keys),
            "api_url": key_url(key, request),
            "last_used": _ago(key.last_used_at, now) if key.last_used_at else "Never",
            "expires": _expiry(key.expires_at, now),
        }
        for key in found.keys
    ]
    columns = {}
    for column, first in SORTABLE_COLUMNS.items():
        current = sort.lstrip("-") == column
        target = (sort[1:] if sort.startswith("-") else f"-{sort}") if current else first
        columns[column] = {
            "url": url(sort=target if target != selectors.DEFAULT_KEY_SORT else "", page=""),
            "aria_sort": ("descending" if sort.startswith("-") else "ascending") if current else "",
        }
    return render(
        request,
        "apikeys/key_list.html",
        {
            "environment": environment,
            "access": access,
            "rows": rows,
            "state": state,
            "state_label": dict(STATE_FILTERS)[state],
            "search": search,
            "sort": sort,
            "sorts": [(value, label) for value, (label, _) in selectors.KEY_SORTS.items()],
            "columns": columns,
            "state_filters": [(value, label, url(state=value, page="")) for value, label in STATE_FILTERS],
            "page": page,
            "page_links": [
                (number, url(page=number if number != 1 else "") if isinstance(number, int) else None)
                for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            ],
            "previous_url": url(page=page.number - 1 if page.number > 2 else "") if page.has_previous() else None,
            "next_url": url(page=page.number + 1) if page.has_next() else None,
            "clear_search_url": url(q="", page=""),
            "expiring_within_days": selectors.EXPIRING_WITHIN.days,
            "created_by": created_by,
            "creator_filters": [
                (username, username or "Anyone", url(created_by=username, page="")) for username in ["", *creators]
            ],
            "tab": "api",
            **_endpoint(request, environment),
            **_protect_service(request, environment),
        },
    )


def _protect_service(request, environment) -> dict:
    """Return the environment's authorize URL and the proxy configurations filled in with it."""
    authorize_url = links_for(request).item("api:environment-list", environment.pk, "authorize")
    return {
        "authorize_url": authorize_url,
        "proxy_configurations": forward_auth.proxy_configurations(authorize_url=authorize_url),
    }


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
            return _form_already_used(request, environment, form_id)
        form = ApiKeyCreateForm(request.POST)
        if form.is_valid():
            claim = f"apikeys:add-form:{form_id}"
            if counters.increment(claim, timeout=_FORM_CLAIM_SECONDS) > 1:
                return _form_already_used(request, environment, form_id)
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
                cache.delete(claim)  # nothing was created: the corrected form may be sent again
                form_error(form, exc, fields={"expires_at": "expires_on"})
            else:
                request.session[FORM_IDS] = [other for other in issued if other != form_id]
                used = [pair for pair in request.session.get(USED_FORM_IDS, []) if pair[0] != form_id]
                request.session[USED_FORM_IDS] = [*used, [form_id, key.pk]][-_FORM_IDS_KEPT:]
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


def _form_already_used(request, environment, form_id: str):
    """Answer a repeated add-key post: name the key the first post created, whose secret is gone."""
    key_id = dict(request.session.get(USED_FORM_IDS, [])).get(form_id) if form_id else None
    key = selectors.key_in_environment(environment=environment, key_id=key_id) if key_id else None
    if key is None:
        messages.warning(
            request,
            "That add-key form was already used, so no new key was created. "
            "A secret key is shown only once; add a new key if you need another one.",
        )
        return redirect(_list_url(environment))
    key.environment = environment
    response = render(
        request,
        "apikeys/key_already_created.html",
        {"environment": environment, "key": key, "can_deactivate": key.allows(Action.DEACTIVATE), "tab": "api"},
        status=409,
    )
    response["Cache-Control"] = "no-store"
    return response


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
            messages.success(request, f"API key {_named(key)} saved.")
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
        messages.success(request, f"API key {_named(key)} {done}.")
    return redirect(next_or(request, _list_url(environment)))


@require_http_methods(["GET", "POST"])
@dashboard_view
def key_deactivate(request, environment_id: int, key_id: int):
    """Ask for confirmation naming the key, then deactivate it: it is refused from the very next request on."""
    if request.method == "POST":
        return _change_state(
            request, environment_id, key_id, services.deactivate_api_key, "deactivated: it can no longer be used"
        )
    environment, _ = load_environment(request, environment_id, need="manage_keys")
    key = _key_or_404(environment, key_id)
    back = _local_next(request, request.GET.get("next", ""), _list_url(environment))
    try:
        key.ensure_allows(Action.DEACTIVATE)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    return render(
        request,
        "apikeys/key_confirm_deactivate.html",
        {
            "environment": environment,
            "key": key,
            "back": back,
            "last_used": _ago(key.last_used_at, timezone.now()) if key.last_used_at else None,
            "tab": "api",
        },
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
            messages.success(request, f"API key {_named(key)} deleted.")
        return redirect(_list_url(environment))
    try:
        key.ensure_allows(Action.DELETE)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_list_url(environment))
    return render(request, "apikeys/key_confirm_delete.html", {"environment": environment, "key": key, "tab": "api"})

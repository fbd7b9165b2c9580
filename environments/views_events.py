"""Dashboard page of an environment's audit log."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from environments import audit, selectors
from environments.models import AuditAction

EVENTS_PER_PAGE = 50


@require_GET
def environment_events(request, pk: int):
    """Show the environment's audit log, newest first, a page at a time, optionally one action only."""
    if settings.ACCESS_CONTROL and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    environment = selectors.visible_environment(actor=request.user, environment_id=pk)
    if environment is None:
        raise Http404
    audit.settle_refusals(environment=environment)
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    events = selectors.events_of(environment=environment, action=action or None, actor=request.user)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "environments/events.html",
        {"environment": environment, "page": page, "action": action, "actions": AuditAction.choices},
    )

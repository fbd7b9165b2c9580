"""The access-control switch: who passes it, and what the product says when it is off."""

from django.conf import settings
from rest_framework.permissions import BasePermission

# Shown by the API root, the dashboard banner and the system check whenever access control is off.
ACCESS_CONTROL_OFF = "Access control is not configured: anyone who can reach this server can use its API."


def passes_access_control(user) -> bool:
    """Return whether a request by ``user`` may go on: anyone when access control is off, else the authenticated."""
    return not settings.ACCESS_CONTROL or bool(user and user.is_authenticated)


class PassesAccessControl(BasePermission):
    """With access control on, only authenticated requests; with it off, everyone."""

    def has_permission(self, request, view):
        return passes_access_control(request.user)

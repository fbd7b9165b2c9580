"""DRF permission classes: one decision each, all taken from ``environments.selectors``.

The access-control switch itself is ``common.access.PassesAccessControl``, every endpoint's default.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from common.actor import api_key_of
from environments import selectors


class CanCreateEnvironment(BasePermission):
    """Signed-in users may create environments; keys may not."""

    message = "Environment API keys cannot create environments."

    def has_permission(self, request, view):
        return request.method != "POST" or selectors.can_create_environment(actor=request.user)


class CanEditEnvironment(BasePermission):
    """Owners and read-write keys of the environment may edit it."""

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or selectors.access_for(actor=request.user, environment=obj).edit


class CanDeleteEnvironment(BasePermission):
    """Only owners may delete an environment."""

    def has_object_permission(self, request, view, obj):
        return selectors.access_for(actor=request.user, environment=obj).delete


class CanManageKeys(BasePermission):
    """Reading keys needs a view of the environment; changing them needs key management."""

    def has_permission(self, request, view):
        access = view.environment_access
        return access.view if request.method in SAFE_METHODS else access.manage_keys


class CanManageMembers(BasePermission):
    """Signed-in viewers may list members; only owners may change them; keys never see them."""

    KEYS_NEVER = "Members are managed by people, not by environment API keys."
    OWNERS_ONLY = "Only the environment's owners manage its members and group mappings."

    def has_permission(self, request, view):
        # Resolve the environment first: another environment's members are a 404, even for a key.
        access = view.environment_access
        if api_key_of(request.user) is not None:
            self.message = self.KEYS_NEVER
            return False
        self.message = self.OWNERS_ONLY
        return access.view if request.method in SAFE_METHODS else access.manage_members


class CanViewEvents(BasePermission):
    """Whoever may see the environment may read its audit log (its keys too, minus member events)."""

    def has_permission(self, request, view):
        return view.environment_access.view

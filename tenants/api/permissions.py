"""Who may call the platform API: staff users of the control plane, with the Django permission of each action.

A view lists the permission each of its actions (ViewSet) or HTTP methods
(APIView) needs in `required_permissions`, e.g. `{"suspend":
"tenants.suspend_tenant"}`. An action the view does not list is refused: a
new endpoint is closed until someone decides who may call it. Superusers
hold every permission (Django's rule, as in the admin).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from routers import current_tenant_or_none


class IsPlatformAdmin(BasePermission):
    """A staff user authenticated against the control plane (never inside a tenant) holding the action's permission."""

    message = "Platform administrators with the permission for this action only."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff and current_tenant_or_none() is None):
            return False
        needed = required_permission(view, request)
        return needed is not None and bool(user.has_perm(needed))


def required_permission(view: Any, request: Any) -> str | None:
    """Return the permission `view` requires for this request's action (None: not listed, refused)."""
    mapping: dict[str, str] = getattr(view, "required_permissions", {})
    action = getattr(view, "action", None) or request.method.lower()
    return mapping.get(action)

"""Who may call the platform API: staff users of the control plane."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from routers import current_tenant_or_none


class IsPlatformAdmin(BasePermission):
    """A staff user authenticated against the control plane (never inside a tenant)."""

    message = "Platform administrators only."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff and current_tenant_or_none() is None)

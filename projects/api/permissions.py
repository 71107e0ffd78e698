"""Object-level permissions from project roles.

Visibility is decided by the query sets (a project you are not a member of
is 404, like another tenant's); these classes decide what a visible object
lets you do: viewers read, members write tasks and comments, project admins
(and tenant admins) change the project itself.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from projects.models import WRITER_ROLES, Role


def role_on(user: Any, obj: Any) -> str | None:
    if user.is_staff:
        return Role.ADMIN
    return getattr(obj, "my_role", None)


class ProjectPermission(BasePermission):
    message = "Only project admins can change a project."

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if getattr(view, "action", None) == "members" and request.method in SAFE_METHODS:
            return True
        return role_on(request.user, obj) == Role.ADMIN


class TaskPermission(BasePermission):
    message = "Viewers cannot change tasks."

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or role_on(request.user, obj) in WRITER_ROLES


class IsTenantAdminOrReadOnly(BasePermission):
    message = "Only tenant admins can manage users."

    def has_permission(self, request: Any, view: Any) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_staff)

"""Error codes and errors of the tenant product (users, projects, tasks, exports)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import ApiError


class ProductErrorCode(StrEnum):
    """Error codes the tenant API answers beyond the common ones (`core.errors.CoreErrorCode`)."""

    USER_EXISTS = "user_exists"
    PROJECT_EXISTS = "project_exists"
    EXPORT_NOT_READY = "export_not_ready"
    PLAN_LIMIT = "plan_limit"


class ExportNotReady(ApiError):
    status_code = 409
    code = ProductErrorCode.EXPORT_NOT_READY

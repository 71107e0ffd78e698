"""Error codes and errors of the control plane (tenants, domains, servers, tenant status)."""

from __future__ import annotations

from enum import StrEnum

from core.errors import ApiError


class TenantErrorCode(StrEnum):
    """Error codes the platform API and the tenant resolution answer."""

    TENANT_NOT_FOUND = "tenant_not_found"
    TENANT_SUSPENDED = "tenant_suspended"
    TENANT_UNAVAILABLE = "tenant_unavailable"
    TENANT_EXISTS = "tenant_exists"
    DOMAIN_EXISTS = "domain_exists"
    NO_CAPACITY = "no_capacity"
    INVALID_STATE = "invalid_state"
    OPERATION_IN_PROGRESS = "operation_in_progress"
    TENANT_MOVING = "tenant_moving"
    TENANT_MAINTENANCE = "tenant_maintenance"
    BACKUP_UNUSABLE = "backup_unusable"


class InvalidState(ApiError):
    status_code = 409
    code = TenantErrorCode.INVALID_STATE


class NoCapacity(ApiError):
    status_code = 503
    code = TenantErrorCode.NO_CAPACITY
    detail = "No database server accepts new tenants."

"""The tenant's plan limits as the product enforces them: quotas on users, projects and exports.

The plan comes with the tenant's spec (`routers.current_tenant().plan`), so a
plan change reaches the next request without the product knowing the control
plane. A quota is checked inside the creating transaction under a per-quota
advisory lock on the tenant database, so two concurrent creates cannot both
pass a count that only one of them fits in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections

from core.errors import ApiError
from core.locks import LockPurpose, lock_key
from core.plans import DEFAULT_PLAN, QUOTAS, PlanLimits, plan_limits
from projects.errors import ProductErrorCode
from routers import current_alias, current_tenant


class PlanLimitReached(ApiError):
    """403 `plan_limit`: the tenant's plan does not allow more; the body names the limit."""

    status_code = 403
    code = ProductErrorCode.PLAN_LIMIT

    def __init__(self, limit: str, value: int, plan: str) -> None:
        self.limit = limit
        super().__init__(f"The {plan} plan allows at most {value} ({limit}); upgrade the plan for more.")

    def body(self) -> dict[str, Any]:
        return {**super().body(), "limit": self.limit}


def current_limits() -> PlanLimits:
    """Return the limits of the current tenant's plan."""
    return plan_limits(current_tenant().plan)


def quota_check(limit: str, count: Callable[[], int], *, adding: int = 1) -> None:
    """Raise PlanLimitReached when `adding` more would take `count()` past the plan's `limit`.

    Call it inside `tenant_atomic()`: the lock it takes is held until that
    transaction ends, so the count stays true until the create commits.
    """
    value: int | None = getattr(current_limits(), limit)
    if value is None:
        return
    with connections[current_alias()].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock_key(LockPurpose.TENANT_QUOTA, QUOTAS.index(limit)))
    if count() + adding > value:
        raise PlanLimitReached(limit, value, current_tenant().plan or DEFAULT_PLAN)


def export_size_check(rows: int) -> None:
    """Raise PlanLimitReached when one export of `rows` tasks exceeds the plan's export size."""
    value = current_limits().max_export_rows
    if value is not None and rows > value:
        raise PlanLimitReached("max_export_rows", value, current_tenant().plan or DEFAULT_PLAN)

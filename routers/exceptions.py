"""Errors raised by the routing layer.

`TenantRoutingError` is the common base of the three ways a tenant-plane
operation can lack a usable tenant, so an `except TenantContextMissing` written
before they were told apart keeps catching all three (each subclasses it).
"""

from __future__ import annotations

from django.db import DatabaseError


class TenantRoutingError(DatabaseError):
    """A tenant-plane operation could not be routed to a tenant database (fail closed)."""


class TenantContextMissing(TenantRoutingError):
    """A tenant-plane query or task ran with no tenant in context (never a fall back to `default`)."""

    def __init__(self, model: str = "") -> None:
        what = f" for {model}" if model else ""
        super().__init__(
            f"No tenant in context{what}: wrap the code in routers.tenant_context(spec) "
            "(requests get one from the tenant middleware, Celery tasks from their headers)."
        )


class CrossTenantObject(TenantContextMissing):
    """An object loaded from one tenant's database was used while another tenant is current."""

    def __init__(self, *, model: str, owner: str, current: str) -> None:
        # DatabaseError's own __init__: the parent's message (add a tenant_context) is the wrong advice here.
        TenantRoutingError.__init__(
            self, f"{model} from tenant {owner!r} used in tenant {current!r}: load it again inside "
                  "this tenant's context, or switch to its own tenant first.")


class TenantUnavailableForTask(TenantContextMissing):
    """A tenant task's tenant is unknown or not active where the worker runs it."""

    def __init__(self, *, task: str, slug: str | None) -> None:
        TenantRoutingError.__init__(
            self, f"task {task}: tenant {slug!r} is unknown or not active (suspended, deleted or "
                  "still provisioning); the task is not run.")


class InvalidTenantSpec(ValueError):
    """A tenant description failed validation."""


class ConnectionBudgetExhausted(DatabaseError):
    """Every tenant connection slot of this process is busy; none could be evicted."""

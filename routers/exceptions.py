"""Errors raised by the routing layer."""

from __future__ import annotations

from django.db import DatabaseError


class TenantContextMissing(DatabaseError):
    """A tenant-plane query ran with no tenant in context (fail closed, never `default`)."""

    def __init__(self, model: str = "") -> None:
        what = f" for {model}" if model else ""
        super().__init__(
            f"No tenant in context{what}: wrap the code in routers.tenant_context(spec) "
            "(requests get one from the tenant middleware, Celery tasks from their headers)."
        )


class InvalidTenantSpec(ValueError):
    """A tenant description failed validation."""


class ConnectionBudgetExhausted(DatabaseError):
    """Every tenant connection slot of this process is busy; none could be evicted."""

"""Tenant routing: context, runtime aliases, routers, replicas, read-your-writes.

The public API is small; import from here::

    from routers import TenantSpec, tenant_context, current_tenant, current_alias, tenant_atomic
"""

from routers.context import current_alias, current_tenant, current_tenant_or_none, tenant_context
from routers.exceptions import ConnectionBudgetExhausted, InvalidTenantSpec, TenantContextMissing
from routers.spec import TenantSpec
from routers.transaction import tenant_atomic, tenant_on_commit

__all__ = [
    "ConnectionBudgetExhausted",
    "InvalidTenantSpec",
    "TenantContextMissing",
    "TenantSpec",
    "current_alias",
    "current_tenant",
    "current_tenant_or_none",
    "tenant_atomic",
    "tenant_context",
    "tenant_on_commit",
]

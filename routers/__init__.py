"""Tenant routing: context, runtime aliases, routers, replicas, read-your-writes.

This module is the package's public API: code outside `routers` imports from
here, never from a submodule (import-linter contract "routers is used through
its public API" in setup.cfg)::

    from routers import TenantSpec, tenant_context, current_tenant, current_alias, tenant_atomic
"""

from routers.cache import tenant_keys_purge
from routers.consistency import read_scope
from routers.context import current_alias, current_tenant, current_tenant_or_none, tenant_context
from routers.exceptions import (
    ConnectionBudgetExhausted,
    CrossTenantObject,
    InvalidTenantSpec,
    TenantContextMissing,
    TenantRoutingError,
    TenantUnavailableForTask,
)
from routers.planes import Plane, plane_of
from routers.policy import database_settings_sql
from routers.runtime import (
    alias_info,
    drop_alias,
    ensure_registered,
    open_connection_aliases,
    register_database,
    replica_probe,
    replica_snapshot,
    unregister,
)
from routers.spec import SLUG_RE, TenantSpec, database_name_for, is_tenant_alias, slug_of
from routers.tasks import TenantTask
from routers.transaction import tenant_atomic, tenant_on_commit

__all__ = [
    "SLUG_RE",
    "ConnectionBudgetExhausted",
    "CrossTenantObject",
    "InvalidTenantSpec",
    "Plane",
    "TenantContextMissing",
    "TenantRoutingError",
    "TenantSpec",
    "TenantTask",
    "TenantUnavailableForTask",
    "alias_info",
    "current_alias",
    "current_tenant",
    "current_tenant_or_none",
    "database_name_for",
    "database_settings_sql",
    "drop_alias",
    "ensure_registered",
    "is_tenant_alias",
    "open_connection_aliases",
    "plane_of",
    "read_scope",
    "register_database",
    "replica_probe",
    "replica_snapshot",
    "slug_of",
    "tenant_atomic",
    "tenant_context",
    "tenant_keys_purge",
    "tenant_on_commit",
    "unregister",
]

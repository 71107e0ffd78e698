"""Tenant plans and their limits, and the PgBouncer pools the plans size (docs/tenants.md#plans-and-limits)."""

from .environment import env

# Per-plan limits (core/plans.py, docs/tenants.md#plans-and-limits), checked at start-up
# (tenants.checks). `connections` is the tenant's pool in its PgBouncer; its database's
# CONNECTION LIMIT is that plus TENANT_DIRECT_CONNECTIONS (migrations, provisioning, shells).
TENANT_PLANS = env.json("TENANT_PLANS", default={
    "free": {"connections": 2, "statement_timeout_ms": 10_000, "api_rate": "600/min", "user_rate": "300/min",
             "max_users": 10, "max_projects": 10, "max_export_rows": 10_000},
    "pro": {"connections": 5, "statement_timeout_ms": 30_000, "api_rate": "3000/min", "user_rate": "1200/min",
            "max_users": 200, "max_projects": 500, "max_export_rows": 200_000},
    "enterprise": {"connections": 10, "statement_timeout_ms": 60_000, "api_rate": "6000/min",
                   "user_rate": "1200/min", "max_users": None, "max_projects": None, "max_export_rows": 1_000_000},
})
TENANT_DIRECT_CONNECTIONS = env.int("TENANT_DIRECT_CONNECTIONS", default=5)
# PgBouncer [databases] include file per pooler ({"a": path, "a-replica0": path}), rewritten from
# the control plane and RELOADed when a tenant is provisioned or changes plan; {}: not managed here.
PGBOUNCER_DATABASES_FILES = env.json("PGBOUNCER_DATABASES_FILES", default={})
PGBOUNCER_ADMIN_USER = env.str("PGBOUNCER_ADMIN_USER", default="postgres")
PGBOUNCER_ADMIN_PASSWORD = env.str("PGBOUNCER_ADMIN_PASSWORD", default="")

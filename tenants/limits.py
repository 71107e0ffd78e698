"""Apply a tenant's plan limits where they are enforced: its database and its poolers.

Two layers bound a tenant's PostgreSQL connections. The pooler's per-database
pool (`tenants.pooler`, the plan's `connections`) is the soft limit: excess
clients wait their turn. The database's `CONNECTION LIMIT` (the same number
plus `TENANT_DIRECT_CONNECTIONS` for migrations, provisioning and shells) is
the hard backstop for whatever bypasses the pooler: a login beyond it is
refused by PostgreSQL (SQLSTATE 53300, answered 503). It sits above the pool
so the pooler itself never hits it. The plan's statement timeout is a database
setting, since transaction pooling drops connect-time options.
"""

from __future__ import annotations

from django.conf import settings
from psycopg2 import sql

from core.plans import plan_limits
from routers import database_settings_sql
from tenants import dbops, pooler


def connection_limit(plan: str) -> int:
    """Return the hard CONNECTION LIMIT of a database on `plan`."""
    return plan_limits(plan).connections + settings.TENANT_DIRECT_CONNECTIONS


def database_limits_apply(server: dbops.Target, name: str, *, plan: str) -> None:
    """Set the database's timeouts, time zone and CONNECTION LIMIT from `plan` (idempotent).

    New sessions get them; a session already open keeps its statement timeout
    until it reconnects (the pooler recycles server connections within
    `server_lifetime`).
    """
    statements = [sql.SQL(s) for s in database_settings_sql(
        name, statement_timeout_ms=plan_limits(plan).statement_timeout_ms)]
    statements.append(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
        sql.Identifier(name), sql.Literal(connection_limit(plan))))
    dbops.execute_all(server, statements)


def tenant_limits_apply(*, server: str, database: str, plan: str) -> None:
    """Apply `plan` to a tenant's database, then to its server's poolers."""
    database_limits_apply(server, database, plan=plan)
    pooler.pooler_config_refresh(server=server)

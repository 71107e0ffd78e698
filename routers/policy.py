"""Connection pooling policy per alias class.

| class           | connects to          | CONN_MAX_AGE | health checks | timeouts                 |
| control         | control primary      | DB_CONN_MAX_AGE | yes        | statement + idle-in-tx   |
| control_replica | control replica      | DB_CONN_MAX_AGE | yes        | statement                |
| tenant          | pooler, else primary | DB_CONN_MAX_AGE | yes        | set per database (pooler)|
| tenant_replica  | replica pooler/direct| DB_CONN_MAX_AGE | yes        | set per database (pooler)|
| migrations      | primary, always direct | 0          | no         | none (lock_timeout set by the runner) |

Behind PgBouncer in transaction pooling mode server-side cursors are turned off
(a cursor cannot outlive the transaction that pooled the server connection),
and the libpq `options` startup parameter is dropped by PgBouncer, so the
statement timeouts of pooled aliases are set on the database itself
(`ALTER DATABASE ... SET`, see `database_settings_sql`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django.conf import settings


class AliasClass(enum.StrEnum):
    CONTROL = "control"
    CONTROL_REPLICA = "control_replica"
    TENANT = "tenant"
    TENANT_REPLICA = "tenant_replica"
    MIGRATIONS = "migrations"


@dataclass(frozen=True, slots=True)
class PoolingPolicy:
    """How connections of one alias class behave."""

    alias_class: AliasClass
    conn_max_age: int | None
    health_checks: bool
    connect_timeout: int
    statement_timeout_ms: int | None
    idle_in_transaction_timeout_ms: int | None
    pgbouncer: bool
    shared_connections: bool = False  # closed connections go back to the process's shared pool

    def connection_settings(self, application_name: str) -> dict[str, Any]:
        """Return the Django connection keys (CONN_*, OPTIONS) for this policy."""
        options: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "application_name": application_name[:63],
        }
        server_options = self._server_options()
        if server_options and not self.pgbouncer:
            options["options"] = server_options
        return {
            # A shared connection goes back to the pool at the end of each request (CONN_MAX_AGE 0),
            # where any thread of the process takes it without a new login (routers/pool.py).
            "CONN_MAX_AGE": 0 if self.shared_connections else self.conn_max_age,
            "CONN_HEALTH_CHECKS": self.health_checks,
            "DISABLE_SERVER_SIDE_CURSORS": self.pgbouncer,
            "SHARED_CONNECTIONS": self.shared_connections,
            "OPTIONS": options,
        }

    def _server_options(self) -> str:
        parts = []
        if self.statement_timeout_ms is not None:
            parts.append(f"-c statement_timeout={self.statement_timeout_ms}")
        if self.idle_in_transaction_timeout_ms is not None:
            parts.append(f"-c idle_in_transaction_session_timeout={self.idle_in_transaction_timeout_ms}")
        return " ".join(parts)


def policy_for(alias_class: AliasClass, *, pooled: bool = False) -> PoolingPolicy:
    """Return the policy of `alias_class`; `pooled` when it goes through PgBouncer."""
    if alias_class is AliasClass.MIGRATIONS:
        return PoolingPolicy(alias_class, 0, False, settings.DB_CONNECT_TIMEOUT, None, None, False)
    replica = alias_class in {AliasClass.CONTROL_REPLICA, AliasClass.TENANT_REPLICA}
    tenant = alias_class in {AliasClass.TENANT, AliasClass.TENANT_REPLICA}
    return PoolingPolicy(
        alias_class=alias_class,
        conn_max_age=settings.DB_CONN_MAX_AGE,
        health_checks=True,
        connect_timeout=settings.DB_CONNECT_TIMEOUT,
        statement_timeout_ms=settings.DB_STATEMENT_TIMEOUT_MS,
        idle_in_transaction_timeout_ms=None if replica else settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
        pgbouncer=pooled,
        shared_connections=pooled and tenant and bool(settings.TENANT_SHARE_CONNECTIONS),
    )


def database_settings_sql(database: str, *, statement_timeout_ms: int | None = None) -> list[str]:
    """Return `ALTER DATABASE` statements that give pooled connections their timeouts and time zone.

    The time zone is the one Django sets on its connections: when a new
    connection reports another one (PostgreSQL's default is often
    `Etc/UTC`), Django spends a round trip on `SET TIME ZONE` at every connect.
    `statement_timeout_ms` is the tenant plan's (default: DB_STATEMENT_TIMEOUT_MS).
    """
    ident = '"' + database.replace('"', '""') + '"'
    zone = "UTC" if settings.USE_TZ else settings.TIME_ZONE
    timeout = settings.DB_STATEMENT_TIMEOUT_MS if statement_timeout_ms is None else statement_timeout_ms
    return [
        f"ALTER DATABASE {ident} SET timezone = '{zone}'",
        f"ALTER DATABASE {ident} SET statement_timeout = {int(timeout)}",
        f"ALTER DATABASE {ident} SET idle_in_transaction_session_timeout = "
        f"{int(settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS)}",
    ]


def apply_control_policies(databases: dict[str, dict[str, Any]]) -> None:
    """Fill the control aliases' pooling keys, keeping anything set explicitly."""
    for alias, alias_class in (("default", AliasClass.CONTROL),
                               ("default_replica", AliasClass.CONTROL_REPLICA)):
        if alias not in databases:
            continue
        wanted = policy_for(alias_class).connection_settings(f"tessera-{alias_class.value}")
        db = databases[alias]
        for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS"):
            if db.get(key) in (None, 0, False):
                db[key] = wanted[key]
        for key, value in wanted["OPTIONS"].items():
            db.setdefault("OPTIONS", {}).setdefault(key, value)

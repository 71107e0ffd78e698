"""An execute wrapper on replica connections: a query that fails because the
replica broke opens the replica's circuit, so the next read (or the retry of a
safe request) goes elsewhere."""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from routers.runtime import runtime


def install_replica_guard(connection: Any) -> None:
    info = runtime.alias_info(connection.alias)
    if info is None or info.replica_index is None:
        return
    if not any(isinstance(w, ReplicaGuard) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(ReplicaGuard(info.server, info.replica_index, connection.alias))


class ReplicaGuard:
    """Mark the replica failed when a query dies with a connection-level error."""

    def __init__(self, server: str, index: int, alias: str) -> None:
        self.server, self.index, self.alias = server, index, alias

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            return execute(sql, params, many, context)
        except (OperationalError, InterfaceError) as exc:
            if _connection_lost(exc):
                runtime.health.mark_failed(self.server, self.index, self.alias, exc)
            raise


def _connection_lost(exc: Exception) -> bool:
    cause = exc.__cause__
    pgcode = getattr(cause, "pgcode", None)
    # No SQLSTATE: the socket died. 57P01-57P03: admin shutdown, crash, cannot connect now.
    return pgcode is None or pgcode.startswith("57P") or pgcode.startswith("08")

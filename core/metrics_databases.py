"""Scrape-time database families: PgBouncer pools and statistics, replica replay lag.

Each scrape opens one short connection per pooler console and per replica
(connect timeout 1 s), cached for METRICS_CACHE_SECONDS; a pooler or replica
that does not answer reports `..._up 0` and no other sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from psycopg2 import Error as PgError

from core.aliases import CONTROL_REPLICA_ALIAS
from core.dbservers import REPLICA_LAG_EXPR, Endpoint, ServerConfig, configured_servers
from core.metrics_collect import CachedCollector
from core.pgconnect import connect_alias

CONNECT_TIMEOUT = 1
APP_NAME = "tessera-metrics"
CLIENT_COLUMNS = ("cl_active", "cl_waiting", "cl_active_cancel_req", "cl_waiting_cancel_req")
SERVER_COLUMNS = ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login", "sv_active_cancel",
                  "sv_being_canceled")
STATS = (("total_xact_count", "transactions", 1.0), ("total_query_count", "queries", 1.0),
         ("total_wait_time", "wait_seconds", 1e-6))  # PgBouncer reports microseconds


def poolers(server: ServerConfig) -> Iterator[tuple[str, Endpoint]]:
    """Yield (role, endpoint) of each PgBouncer of `server`: "primary", then "replica0", ..."""
    if server.pooler is not None:
        yield "primary", server.pooler
    for index, endpoint in enumerate(server.replica_poolers):
        yield f"replica{index}", endpoint


def console_rows(server: ServerConfig, endpoint: Endpoint, command: str) -> list[dict[str, Any]]:
    """Run a `SHOW` command on a pooler's admin console (the app user is a stats user)."""
    conn = server.connect("pgbouncer", endpoint=endpoint, application_name=APP_NAME, connect_timeout=CONNECT_TIMEOUT)
    try:
        with conn.cursor() as cursor:
            cursor.execute(command)
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        conn.close()


class PoolerCollector(CachedCollector):
    """PgBouncer client and server connections (`SHOW POOLS`) and traffic (`SHOW STATS`), per pooler."""

    def gather(self) -> list[Metric]:
        labels = ["server", "pooler"]
        families = {
            "up": GaugeMetricFamily("tessera_pooler_up", "1 when the pooler's console answered.", labels=labels),
            "clients": GaugeMetricFamily("tessera_pooler_client_connections", "Client connections of a pooler.",
                                         labels=labels),
            "servers": GaugeMetricFamily("tessera_pooler_server_connections",
                                         "PostgreSQL server connections a pooler holds.", labels=labels),
            "waiting": GaugeMetricFamily("tessera_pooler_clients_waiting", "Clients waiting for a server connection.",
                                         labels=labels),
            "cap": GaugeMetricFamily("tessera_pooler_server_connections_cap",
                                     "Per-server cap on server connections (TENANT_SERVER_CONNECTIONS_MAX).",
                                     labels=labels),
        }
        counters = {name: CounterMetricFamily(f"tessera_pooler_{name}", f"Pooler {name.replace('_', ' ')}.",
                                              labels=labels) for _, name, _ in STATS}
        for server in configured_servers().values():
            for role, endpoint in poolers(server):
                self._one(server, role, endpoint, families, counters)
        return [*families.values(), *counters.values()]

    @staticmethod
    def _one(server: ServerConfig, role: str, endpoint: Endpoint, families: dict[str, GaugeMetricFamily],
             counters: dict[str, CounterMetricFamily]) -> None:
        key = [server.name, role]
        try:
            pools = console_rows(server, endpoint, "SHOW POOLS")
            stats = console_rows(server, endpoint, "SHOW STATS")
        except PgError:
            families["up"].add_metric(key, 0.0)
            return
        families["up"].add_metric(key, 1.0)
        families["clients"].add_metric(key, _sum(pools, CLIENT_COLUMNS))
        families["servers"].add_metric(key, _sum(pools, SERVER_COLUMNS))
        families["waiting"].add_metric(key, _sum(pools, ("cl_waiting",)))
        families["cap"].add_metric(key, float(settings.TENANT_SERVER_CONNECTIONS_MAX))
        for column, name, scale in STATS:
            counters[name].add_metric(key, _sum(stats, (column,)) * scale)


def _sum(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> float:
    """Sum `columns` over `rows`; columns this PgBouncer version lacks count as 0."""
    return float(sum(int(row.get(column) or 0) for row in rows for column in columns))


LAG_SQL = f"SELECT {REPLICA_LAG_EXPR}"


class ReplicaCollector(CachedCollector):
    """Replay lag of every replica (control plane and tenant servers), probed at scrape."""

    def gather(self) -> list[Metric]:
        up = GaugeMetricFamily("tessera_replica_up", "1 when the replica answered the probe.",
                               labels=["server", "replica"])
        lag = GaugeMetricFamily("tessera_replica_lag_seconds",
                                "Replica replay lag; +Inf when it receives no WAL (cut off from its primary).",
                                labels=["server", "replica"])
        for server, replica, probe in replica_probes():
            value = _probe_lag(probe)
            up.add_metric([server, replica], 0.0 if value is None else 1.0)
            if value is not None:
                lag.add_metric([server, replica], value)
        return [up, lag]


def replica_probes() -> Iterator[tuple[str, str, Any]]:
    """Yield (server, replica label, connect function) for every replica."""
    yield "control", "0", lambda: connect_alias(CONTROL_REPLICA_ALIAS, application_name=APP_NAME,
                                                connect_timeout=CONNECT_TIMEOUT)
    for server in configured_servers().values():
        for index, endpoint in enumerate(server.replicas):
            yield server.name, str(index), _connector(server, endpoint)


def _connector(server: ServerConfig, endpoint: Endpoint) -> Any:
    return lambda: server.connect("postgres", endpoint=endpoint, application_name=APP_NAME,
                                  connect_timeout=CONNECT_TIMEOUT)


def _probe_lag(connect: Any) -> float | None:
    """Return the lag in seconds (inf: no WAL receiver), or None when the replica does not answer."""
    try:
        conn = connect()
    except PgError:
        return None
    try:
        with conn.cursor() as cursor:
            cursor.execute(LAG_SQL)
            (value,) = cursor.fetchone()
        return math.inf if value is None else float(value)
    except PgError:
        return None
    finally:
        conn.close()

"""Metrics of the control plane and of this process's tenant connections.

`ControlPlaneCollector` runs at scrape (cached METRICS_CACHE_SECONDS) with a
few aggregate queries on the control primary; `refresh_process_gauges` is
called at most once a second by each web and Celery process, after a request
or a task, to publish what only that process knows (its open connections and
its replica circuit breakers).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connections
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from core import metrics
from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from core.metrics_collect import CachedCollector
from routers import alias_info, open_connection_aliases, replica_snapshot
from tenants.models import OPEN_JOB_STATUSES, ProvisioningJob, Tenant

JOB_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
ROLES = ("primary", "replica")
CONNECTION_KINDS = ("client", "server")  # to a PgBouncer, or straight to PostgreSQL


def refresh_process_gauges() -> None:
    """Publish this process's open tenant connections, budgets and replica breakers."""
    counts = dict.fromkeys(((name, role, kind) for name, server in configured_servers().items()
                            for role in ROLES[:1 + bool(server.replicas)] for kind in CONNECTION_KINDS), 0)
    for alias in open_connection_aliases():
        info = alias_info(alias)
        if info is not None:
            role = "primary" if info.replica_index is None else "replica"
            key = (info.server, role, "client" if info.pooled else "server")
            counts[key] = counts.get(key, 0) + 1
    for labels, count in counts.items():
        metrics.CONNECTIONS.labels(*labels).set(count)
    metrics.BUDGET.labels("client").set(int(settings.TENANT_CLIENT_CONNECTIONS_MAX))
    metrics.BUDGET.labels("server").set(int(settings.TENANT_CONNECTIONS_MAX))
    _refresh_breakers()


def _refresh_breakers() -> None:
    now = time.monotonic()
    known = replica_snapshot()
    for name, server in configured_servers().items():
        for index in range(len(server.replicas)):
            status = known.get(f"{name}:{index}", {})
            metrics.BREAKER.labels(name, str(index)).set(1 if status.get("failed_until", 0.0) > now else 0)


def _table(model: type[Tenant] | type[ProvisioningJob]) -> str:
    return connections[CONTROL_ALIAS].ops.quote_name(model._meta.db_table)


class ControlPlaneCollector(CachedCollector):
    """Tenants by status; jobs by kind and status, their durations and the oldest one without progress."""

    def gather(self) -> list[Metric]:
        with connections[CONTROL_ALIAS].cursor() as cursor:
            cursor.execute(f"SELECT status, count(*) FROM {_table(Tenant)} GROUP BY status")
            tenants = cursor.fetchall()
            cursor.execute(f"SELECT kind, status, count(*) FROM {_table(ProvisioningJob)} GROUP BY kind, status")
            jobs = cursor.fetchall()
            durations = _durations(cursor)
            cursor.execute(
                f"SELECT kind, max(EXTRACT(EPOCH FROM now() - coalesce(heartbeat_at, started_at, queued_at))) "
                f"FROM {_table(ProvisioningJob)} WHERE status = ANY(%s) GROUP BY kind", [list(OPEN_JOB_STATUSES)])
            oldest = cursor.fetchall()
        return [_gauge("tessera_tenants", "Tenants by status.", ["status"], tenants),
                _gauge("tessera_jobs", "Provisioning, deletion and other jobs by kind and status.",
                       ["kind", "status"], jobs),
                durations,
                _gauge("tessera_jobs_open_oldest_age_seconds",
                       "Seconds since the open (pending or running) job of a kind that progressed least recently "
                       "last progressed.", ["kind"], oldest),
                _gauge("tessera_jobs_stall_seconds", "PROVISIONING_STALL_SECONDS: the watchdog's patience.", [],
                       [(float(settings.PROVISIONING_STALL_SECONDS),)])]


def _gauge(name: str, documentation: str, labels: list[str], rows: list[tuple[object, ...]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for row in rows:
        family.add_metric([str(value) for value in row[:-1]], float(row[-1] or 0))  # type: ignore[arg-type]
    return family


def _durations(cursor: object) -> HistogramMetricFamily:
    """Return the histogram of finished jobs' run time (started -> finished), computed in one query."""
    buckets = ", ".join(f"count(*) FILTER (WHERE d <= {bound})" for bound in JOB_DURATION_BUCKETS)
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT kind, status, count(*), coalesce(sum(d), 0), {buckets} FROM ("
        f"SELECT kind, status, EXTRACT(EPOCH FROM finished_at - started_at)::float AS d "
        f"FROM {_table(ProvisioningJob)} WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS finished "
        f"GROUP BY kind, status")
    family = HistogramMetricFamily("tessera_job_duration_seconds", "Run time of finished jobs.",
                                   labels=["kind", "status"])
    for kind, status, count, total, *cumulative in cursor.fetchall():  # type: ignore[attr-defined]
        points = [(str(bound), float(n)) for bound, n in zip(JOB_DURATION_BUCKETS, cumulative, strict=True)]
        family.add_metric([kind, status], [*points, ("+Inf", float(count))], float(total))
    return family

"""Fleet migration metrics: the databases of the latest run by outcome, and how long it ran (at scrape)."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from core.aliases import CONTROL_ALIAS
from core.metrics_collect import CachedCollector
from migrations_tooling.models import MigrationRecord, MigrationRun, RecordStatus, RunStatus


class FleetMigrationCollector(CachedCollector):
    """Report the latest (current or last) migration run from the ledger."""

    def gather(self) -> list[Metric]:
        databases = GaugeMetricFamily("tessera_fleet_migration_databases",
                                      "Databases of the latest fleet migration run by status.", labels=["status"])
        run_status = GaugeMetricFamily("tessera_fleet_migration_run_status",
                                       "1 for the status of the latest fleet migration run.", labels=["status"])
        duration = GaugeMetricFamily("tessera_fleet_migration_run_duration_seconds",
                                     "How long the latest run ran (so far, while it runs).")
        run = MigrationRun.objects.using(CONTROL_ALIAS).order_by("-created_at", "-pk").first()
        if run is None:
            return [databases, run_status, duration]
        counts = dict(MigrationRecord.objects.using(CONTROL_ALIAS).filter(run=run).values_list("status")
                      .annotate(n=Count("pk")).values_list("status", "n"))
        for status in RecordStatus.values:
            databases.add_metric([status], float(counts.get(status, 0)))
        for status in RunStatus.values:
            run_status.add_metric([status], 1.0 if run.status == status else 0.0)
        if run.started_at is not None:
            duration.add_metric([], ((run.finished_at or timezone.now()) - run.started_at).total_seconds())
        return [databases, run_status, duration]

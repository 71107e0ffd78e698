"""Reads on the fleet: schema drift, run summaries."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from core.aliases import CONTROL_ALIAS
from migrations_tooling.models import MigrationRecord, MigrationRun, RecordStatus
from migrations_tooling.planning import control_state, ordered_expected
from migrations_tooling.state import DatabaseState, fleet_state
from migrations_tooling.targets import fleet_targets


def fleet_drift(*, tenants: list[str] | None = None, exclude: list[str] | None = None) -> list[DatabaseState]:
    """Return the state of the control plane, every template and every (selected) tenant database."""
    targets = fleet_targets(tenants=tenants or (), exclude=exclude or ())
    return [control_state(), *fleet_state(targets, ordered_expected(), trust_stamps=False)]  # drift: read all


def drifted(states: list[DatabaseState]) -> list[DatabaseState]:
    """Return the states whose applied migrations differ from the code (missing, unknown, unreadable)."""
    return [s for s in states if s.pending or s.unknown or s.error]


def drift_report(*, tenants: list[str] | None = None, exclude: list[str] | None = None) -> dict[str, Any]:
    """Return how many databases were checked and, for each that drifted, what differs."""
    states = fleet_drift(tenants=tenants, exclude=exclude)
    entries = [{"database_label": s.target.label, "server": s.target.server, "database": s.target.database,
                "missing": list(s.pending), "unknown": list(s.unknown), "error": s.error}
               for s in drifted(states)]
    return {"checked": len(states), "drifted": len(entries), "databases": entries}


def run_list() -> QuerySet[MigrationRun]:
    """Return the runs with their per-status record counts (one query for a whole page)."""
    counts = {f"count_{status}": Count("records", filter=Q(records__status=status)) for status in RecordStatus.values}
    return MigrationRun.objects.using(CONTROL_ALIAS).annotate(**counts)


def run_counts(run: MigrationRun) -> dict[str, int]:
    """Return the number of the run's databases per status."""
    if hasattr(run, f"count_{RecordStatus.DONE}"):  # annotated by run_list
        found = {status: getattr(run, f"count_{status}") for status in RecordStatus.values}
        return {status: count for status, count in found.items() if count}
    counts: dict[str, int] = {}
    for status in run.records.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def run_get(*, pk: str) -> MigrationRun | None:
    """Return run `pk` (any text: a non-number is no run), read on the primary."""
    return MigrationRun.objects.using(CONTROL_ALIAS).filter(pk=pk).first() if pk.isdigit() else None


def run_records(*, run: MigrationRun) -> QuerySet[MigrationRecord]:
    return run.records.order_by("id")

"""The run ledger's hot writes, in raw SQL: thousands of records per run, one statement each way.

Creating a record per database through the ORM (`bulk_create`) cost about a
second per thousand databases in Python alone, most of a no-op run over a
large fleet once the states are read from stamps; one `INSERT ... SELECT`
from a JSON parameter costs one round trip.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections

from core.aliases import CONTROL_ALIAS
from migrations_tooling.models import MigrationRecord, MigrationRun, RecordStatus
from migrations_tooling.planning import FleetPlan
from migrations_tooling.results import DatabaseResult
from migrations_tooling.targets import CONTROL, control_target


def _table() -> str:
    return connections[CONTROL_ALIAS].ops.quote_name(MigrationRecord._meta.db_table)


def record_states(run: MigrationRun, fleet: FleetPlan) -> list[MigrationRecord]:
    """Create the run's records (control plane, templates, tenants) in order; return those with work to do."""
    control = control_target()
    rows = [{"label": CONTROL, "server": control.server, "database": control.database,
             "status": RecordStatus.PENDING if fleet.control.migrations else RecordStatus.SKIPPED,
             "pending": list(fleet.control.migrations), "error": ""}]
    rows += [{"label": s.target.label, "server": s.target.server, "database": s.target.database,
              "status": RecordStatus.PENDING if s.needs_work else RecordStatus.SKIPPED,
              "pending": list(s.pending), "error": s.error} for s in fleet.states]
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute(  # ORDER BY n: record ids follow the plan's order (the canary takes the first ones)
            f"INSERT INTO {_table()} (run_id, database_label, server, database, status, pending, applied, "
            "attempts, duration_ms, error, updated_at) "
            "SELECT %s, r.label, r.server, r.database, r.status, "
            "ARRAY(SELECT jsonb_array_elements_text(r.pending))::varchar(200)[], '{}', 0, NULL, r.error, now() "
            "FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (label text, server text, database text, "
            "status text, pending jsonb, error text)) WITH ORDINALITY AS r(label, server, database, status, "
            "pending, error, n) "
            "ORDER BY r.n", [run.pk, json.dumps(rows)])
    return list(run.records.filter(status=RecordStatus.PENDING).order_by("id"))


def save_results(results: list[tuple[int, DatabaseResult]]) -> None:
    """Write the outcome of finished databases in one statement (the coordinator's hot path)."""
    values = ", ".join(["(%s, %s, %s::varchar(200)[], %s, %s::integer, %s::integer)"] * len(results))
    params: list[Any] = []
    for pk, result in results:
        params += [pk, str(result.outcome), list(result.applied), result.error, result.duration_ms,
                   result.attempts]
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} AS r SET status = v.status, applied = v.applied, error = v.error, "
            "duration_ms = v.duration_ms, attempts = r.attempts + v.attempts, updated_at = now() "
            f"FROM (VALUES {values}) AS v(id, status, applied, error, duration_ms, attempts) WHERE r.id = v.id",
            params)

"""The control plane in a fleet run: planned, linted and migrated first, recorded like any database."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from core.aliases import CONTROL_ALIAS
from migrations_tooling.plans import FleetExecutor, Plan, migration_key
from migrations_tooling.state import DatabaseState, Target, TargetKind, compare

CONTROL = "control"  # the ledger label of the control plane


def control_target() -> Target:
    return Target(CONTROL, CONTROL, str(settings.DATABASES[CONTROL_ALIAS]["NAME"]), TargetKind.CONTROL)


def control_plan(to: tuple[str, str] | None = None) -> Plan:
    """Return the control plane's pending migrations with their SQL (nothing is applied).

    To a target migration: the migrations to apply or unapply, without SQL
    (the executor generates it when it runs).
    """
    executor = FleetExecutor(connections[CONTROL_ALIAS])
    if to is not None:
        return Plan(migrations=tuple(migration_key(m, backwards=b) for m, b in executor.plan_to([to])))
    return executor.collect(executor.plan_to(executor.loader.graph.leaf_nodes()))


def control_state() -> DatabaseState:
    """Compare the control plane's applied migrations with every migration of the code.

    `migrate --database default` records every app's migrations there (the
    router skips the operations of tenant-only apps), so all are expected.
    """
    executor = FleetExecutor(connections[CONTROL_ALIAS])
    graph = executor.loader.graph
    order = [key for leaf in sorted(graph.leaf_nodes()) for key in graph.forwards_plan(leaf)]
    order = list(dict.fromkeys(order))
    return compare(control_target(), executor.applied_key(), order, {app for app, _ in order})


def migrate_control(*, to: tuple[str, str] | None = None, fake: bool = False) -> dict[str, Any]:
    """Apply the control plane's pending migrations (or migrate to `to`); report like a database (never raises)."""
    started = time.perf_counter()
    result: dict[str, Any] = {"label": CONTROL, "attempts": 1}
    try:
        result["applied"] = list(control_plan(to).migrations)
        if result["applied"]:
            call_command("migrate", *(to or ()), database=CONTROL_ALIAS, verbosity=0, interactive=False, fake=fake)
        result["status"] = "done"
    except Exception as exc:
        result.update(status="failed", applied=[], error=f"{type(exc).__name__}: {str(exc).strip()}"[:4000])
    result["duration_ms"] = int((time.perf_counter() - started) * 1000)
    return result

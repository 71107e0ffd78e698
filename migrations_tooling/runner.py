"""Run schema changes across the fleet: control plane, templates, then every tenant database.

    run = runner.start_run(options)          # a queued MigrationRun (ledger)
    runner.execute(run.pk, progress=print)   # holds the global lock until done

Order: the control plane migrates first; then each server's template is
refreshed so tenants created during the run are born current; then the
tenant databases with pending migrations, the first `canary` of them alone.
A database that fails stops the run unless `continue_on_error`; the ledger
keeps per-database status, applied migrations, duration and error, and
`execute` on the same run (resume) retries only what is not done.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import close_old_connections, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.utils import timezone

from core.dbservers import configured_servers
from migrations_tooling import lint as linting
from migrations_tooling.locks import fleet_lock
from migrations_tooling.models import MigrationRecord, MigrationRun, RecordStatus, RunStatus
from migrations_tooling.state import DatabaseState, Target, fleet_state
from migrations_tooling.worker import init_worker, migrate_database, run_one, worker_settings
from routers import registry
from routers.spec import TenantSpec
from tenants.models import Tenant, TenantStatus
from tenants.templates import ensure_template

logger = logging.getLogger("tessera.migrations")
Progress = Callable[[dict[str, Any]], None]
MIGRATABLE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)


@dataclass
class RunOptions:
    parallel: int = 1
    tenants: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    canary: int = 0
    continue_on_error: bool = False
    allow_unsafe: bool = False


def select_targets(options: RunOptions) -> list[Target]:
    tenants = Tenant.objects.filter(status__in=MIGRATABLE).order_by("slug")
    if options.tenants:
        tenants = tenants.filter(slug__in=options.tenants)
    if options.exclude:
        tenants = tenants.exclude(slug__in=options.exclude)
    return [Target(t.slug, t.server_id, t.database) for t in tenants.only("slug", "server", "database")]


def start_run(options: RunOptions, *, requested_by: str = "") -> MigrationRun:
    return MigrationRun.objects.create(options=asdict(options), requested_by=requested_by)


def execute(run_id: int, *, progress: Progress | None = None) -> MigrationRun:
    """Run (or resume) `run_id` to the end under the global lock; return it."""
    notify = progress or (lambda event: None)
    close_old_connections()  # a long-lived process may hold connections the server has dropped
    with fleet_lock():
        run = MigrationRun.objects.get(pk=run_id)
        options = RunOptions(**run.options)
        resuming = run.records.exists()
        MigrationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now(),
                                                      finished_at=None, error="")
        try:
            status, error = _execute(run, options, resuming, notify)
        except Exception as exc:
            logger.exception("migration run %s failed", run.pk)
            status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
        MigrationRun.objects.filter(pk=run.pk).update(status=status, error=error, finished_at=timezone.now())
    run.refresh_from_db()
    notify({"event": "finished", "status": run.status, "error": run.error})
    return run


def _execute(run: MigrationRun, options: RunOptions, resuming: bool, notify: Progress) -> tuple[str, str]:
    if not resuming:
        notify({"event": "control", "applied": migrate_control()})
        notify({"event": "templates", "rebuilt": refresh_templates()})
        states = fleet_state(select_targets(options))
        _record_states(run, states)
    todo = list(run.records.exclude(status__in=[RecordStatus.DONE, RecordStatus.SKIPPED]).order_by("id"))
    findings = _lint(todo)
    MigrationRun.objects.filter(pk=run.pk).update(lint=[f.as_dict() for f in findings])
    blocking = [f for f in findings if f.blocking]
    if blocking and not options.allow_unsafe:
        names = ", ".join(sorted({f"{f.migration} ({f.code})" for f in blocking}))
        return RunStatus.REFUSED, f"unsafe migrations refused (use --allow-unsafe): {names}"
    notify({"event": "start", "total": len(todo), "skipped": run.records.filter(status="skipped").count()})
    canary, rest = todo[: options.canary], todo[options.canary:]
    if canary and not _run_records(run, canary, options, notify, stop_on_failure=True):
        return RunStatus.FAILED, f"canary failed on {len(_failed(run))} of {len(canary)} database(s); run stopped"
    ok = _run_records(run, rest, options, notify, stop_on_failure=not options.continue_on_error)
    failed = _failed(run)
    if not ok or failed:
        return RunStatus.FAILED, f"{len(failed)} database(s) failed: {', '.join(failed[:20])}"
    return RunStatus.DONE, ""


def migrate_control() -> list[str]:
    """Apply the control plane's pending migrations first."""
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    if plan:
        from django.core.management import call_command

        call_command("migrate", database="default", verbosity=0, interactive=False)
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def refresh_templates() -> list[str]:
    return [server for server in configured_servers() if ensure_template(server)]


def _record_states(run: MigrationRun, states: list[DatabaseState]) -> None:
    rows = []
    for state in states:
        target = state.target
        status = RecordStatus.SKIPPED if not state.pending and not state.error else RecordStatus.PENDING
        rows.append(MigrationRecord(run=run, database_label=target.label, server=target.server,
                                    database=target.database, status=status, pending=list(state.pending),
                                    error=state.error))
    MigrationRecord.objects.bulk_create(rows, batch_size=1000)


def _lint(records: list[MigrationRecord]) -> list[linting.Finding]:
    pending: list[str] = []
    for record in records:
        pending.extend(name for name in record.pending if name not in pending)
    if not pending:
        return []
    sample = next(r for r in records if r.pending)
    spec = TenantSpec(sample.database_label, sample.server, sample.database)
    registry.ensure_registered(spec)
    try:
        return linting.lint(pending, database=spec.direct_alias)
    finally:
        connections[spec.direct_alias].close()
        registry.unregister(spec.slug)


def _failed(run: MigrationRun) -> list[str]:
    return list(run.records.filter(status=RecordStatus.FAILED).values_list("database_label", flat=True))


def _run_records(run: MigrationRun, records: list[MigrationRecord], options: RunOptions, notify: Progress,
                 *, stop_on_failure: bool) -> bool:
    """Migrate `records`; return False when a failure stopped the batch early."""
    work = [(Target(r.database_label, r.server, r.database), {}) for r in records]
    stopped = False
    # Consume every result: after a stopping failure no new database starts, but
    # the ones already migrating finish (and are recorded) rather than being killed.
    for result in _results(work, options.parallel, stop_on_failure):
        _save_result(run, result)
        notify({"event": "database", **result})
        stopped = stopped or (result["status"] == "failed" and stop_on_failure)
    return not stopped


def _results(work: list[tuple[Target, dict[str, Any]]], parallel: int,
             stop_on_failure: bool) -> Iterator[dict[str, Any]]:
    if parallel <= 1 or len(work) <= 1:
        for target, opts in work:
            result = migrate_database(target, opts)
            yield result
            if stop_on_failure and result["status"] == "failed":
                return
        return
    # Spawned, not forked: a child must never inherit (and on exit close) the
    # parent's sockets. Each worker sets Django up once and reuses it.
    context = multiprocessing.get_context("spawn")
    with context.Pool(parallel, initializer=init_worker, initargs=(worker_settings(),),
                      maxtasksperchild=500) as pool:
        pending = iter(work)
        in_flight = [pool.apply_async(run_one, (item,)) for item in _take(pending, parallel)]
        stopping = False
        while in_flight:
            finished = next((f for f in in_flight if f.ready()), None)
            if finished is None:
                time.sleep(0.002)
                continue
            in_flight.remove(finished)
            result = finished.get()
            stopping = stopping or (stop_on_failure and result["status"] == "failed")
            if not stopping:
                in_flight.extend(pool.apply_async(run_one, (item,)) for item in _take(pending, 1))
            yield result


def _take(iterator: Iterator[Any], count: int) -> list[Any]:
    return [item for _, item in zip(range(count), iterator, strict=False)]


def _save_result(run: MigrationRun, result: dict[str, Any]) -> None:
    MigrationRecord.objects.filter(run=run, database_label=result["label"]).update(
        status=result["status"], applied=result.get("applied", []), error=result.get("error", ""),
        duration_ms=result.get("duration_ms"), attempts=F("attempts") + result.get("attempts", 1))

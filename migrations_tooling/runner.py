"""Run schema changes across the fleet: plan and lint everything, then control plane, then databases.

    run = runner.start_run(options)          # a queued MigrationRun (ledger)
    runner.execute(run.pk, progress=print)   # holds the global lock until done

Order: every database's state is read and every pending migration (control
plane, templates, tenants) is linted before anything is applied; the control
plane migrates next; then the tenant databases, the first `canary` of them
alone, and each server's template alongside the rest (migrated in place, so
tenants created during the run are born current). A database that fails
stops the run unless `continue_on_error`; the ledger keeps per-database
status, applied migrations, duration and error, and `execute` on the same run
(resume) retries only what is not done.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from core.errors import ApiError
from migrations_tooling import lint as linting
from migrations_tooling.apply import migrate_database
from migrations_tooling.control import CONTROL, control_target, migrate_control
from migrations_tooling.errors import MigrationErrorCode
from migrations_tooling.locks import RunInProgress, fleet_lock
from migrations_tooling.models import MigrationRecord, MigrationRun, RecordStatus, RunStatus
from migrations_tooling.planning import FleetPlan, plan_fleet
from migrations_tooling.pool import MigrationPool
from migrations_tooling.state import Target, TargetKind, template_target
from migrations_tooling.template_refresh import refresh_template
from migrations_tooling.version import code_version
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger("tessera.migrations")
Progress = Callable[[dict[str, Any]], None]
MIGRATABLE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)
UNFINISHED = (RecordStatus.PENDING, RecordStatus.RUNNING, RecordStatus.FAILED)


@dataclass
class RunOptions:
    parallel: int = 1
    tenants: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    canary: int = 0
    continue_on_error: bool = False
    allow_unsafe: bool = False
    allow_unknown: bool = False  # run although databases hold migrations the code does not know
    target: list[str] = field(default_factory=list)  # [app_label, migration_name]: forwards or backwards to it
    fake: bool = False  # record the migrations as applied (or unapplied) without running them
    code_version: str = ""  # the planning process's migration code (checked by whoever executes the run)

    @property
    def executor_only(self) -> bool:
        """Say whether databases go through Django's executor (a target or --fake), not replayed SQL."""
        return bool(self.target or self.fake)

    @classmethod
    def of(cls, run: MigrationRun) -> RunOptions:
        """Return the options stored on `run` (ignoring the ledger's other keys)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in run.options.items() if key in names})


class UnknownTenants(ApiError):
    status_code = 400
    code = MigrationErrorCode.UNKNOWN_TENANTS


def _tenants() -> Any:
    """Return the migratable tenants, read on the control primary: a lagging replica would miss new ones."""
    return Tenant.objects.using(CONTROL_ALIAS).filter(status__in=MIGRATABLE)


def check_selection(options: RunOptions) -> None:
    """Raise UnknownTenants when a slug in `tenants` or `exclude` names no migratable tenant."""
    named = set(options.tenants) | set(options.exclude)
    if not named:
        return
    known = set(_tenants().filter(slug__in=named).values_list("slug", flat=True))
    if missing := sorted(named - known):
        raise UnknownTenants(f"Unknown or not migratable tenant(s): {', '.join(missing)}.")


def fleet_targets(options: RunOptions) -> list[Target]:
    """Return every database a run with `options` covers but the control plane (templates first).

    Templates follow the code: a run to a target migration or with --fake leaves them alone.
    """
    templates = [] if options.executor_only else [template_target(server) for server in configured_servers()]
    return templates + select_targets(options)


def select_targets(options: RunOptions) -> list[Target]:
    tenants = _tenants().order_by("slug")
    if options.tenants:
        tenants = tenants.filter(slug__in=options.tenants)
    if options.exclude:
        tenants = tenants.exclude(slug__in=options.exclude)
    return [Target(t.slug, t.server_id, t.database) for t in tenants.only("slug", "server", "database")]


def start_run(options: RunOptions, *, requested_by: str = "") -> MigrationRun:
    check_selection(options)
    if not options.code_version:
        options = dataclasses.replace(options, code_version=code_version())
    return MigrationRun.objects.create(options=asdict(options), requested_by=requested_by)


def execute(run_id: int, *, progress: Progress | None = None) -> MigrationRun:
    """Run (or resume) `run_id` to the end under the global lock; return it.

    A queued run that finds another run holding the lock is marked failed
    (resume it later) rather than left queued; a run still marked running
    whose process died is taken over, since holding the lock proves it dead.
    """
    notify = progress or (lambda event: None)
    close_old_connections()  # a long-lived process may hold connections the server has dropped
    try:
        with fleet_lock():
            run = MigrationRun.objects.get(pk=run_id)
            if run.status == RunStatus.DONE:
                return run  # a redelivered task for a finished run
            MigrationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now(),
                                                          finished_at=None, error="")
            try:
                status, error = _execute(run, RunOptions.of(run), notify)
            except Exception as exc:
                logger.exception("migration run %s failed", run.pk)
                status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            MigrationRun.objects.filter(pk=run.pk).update(status=status, error=error, finished_at=timezone.now())
    except RunInProgress as exc:
        MigrationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=f"{exc.detail} Resume run {run_id} when it is over.",
            finished_at=timezone.now())
        raise
    run.refresh_from_db()
    notify({"event": "finished", "status": run.status, "error": run.error})
    return run


def _execute(run: MigrationRun, options: RunOptions, notify: Progress) -> tuple[str, str]:
    if options.code_version and options.code_version != (version := code_version()):
        return RunStatus.FAILED, (f"this process's migration code ({version}) is not the code run {run.pk} was "
                                  f"planned with ({options.code_version}); deploy the same code to every "
                                  "worker, then resume the run")
    fresh = not run.records.exists()
    todo = [] if fresh else list(run.records.filter(status__in=UNFINISHED).order_by("id"))
    targets = fleet_targets(options) if fresh else [_target(r) for r in todo if r.database_label != CONTROL]
    fleet = plan_fleet(targets, control=fresh or any(r.database_label == CONTROL for r in todo),
                       to=target_key(options))
    # A run to a target migration goes through Django's executor, which writes the SQL as it runs: there
    # is none to lint beforehand (--plan --sql shows it).
    findings = [] if options.target else linting.lint(fleet.plans())
    MigrationRun.objects.filter(pk=run.pk).update(lint=[f.as_dict() for f in findings] + fleet.mismatch_notes())
    blocking = [f for f in findings if f.blocking]
    if blocking and not options.allow_unsafe:
        names = ", ".join(sorted({f"{f.migration} ({f.code})" for f in blocking}))
        return RunStatus.REFUSED, f"unsafe migrations refused (use --allow-unsafe): {names}"
    mismatch = fleet.mismatch()
    notify({"event": "mismatch", **mismatch.as_dict()})
    if mismatch.unknown and not options.allow_unknown:
        return RunStatus.REFUSED, (f"{len(mismatch.unknown)} database(s) hold migrations unknown to this code: "
                                   f"{', '.join(mismatch.unknown[:20])} (deploy the code that has them, or "
                                   "use --allow-unknown-migrations)")
    if fresh:
        todo = _record_states(run, fleet)
    ledger = Ledger(run, fleet, notify, options)
    control = [r for r in todo if r.database_label == CONTROL]
    if control and not ledger.control(control[0]):
        return RunStatus.FAILED, "the control plane failed to migrate; tenant databases were not started"
    rest = [r for r in todo if r.database_label != CONTROL]
    tenants = [r for r in rest if not r.database_label.startswith("template:")]
    canary = tenants[: options.canary]
    in_canary = {r.pk for r in canary}
    rest = [r for r in rest if r.pk not in in_canary]
    notify({"event": "start", "total": len(canary) + len(rest),
            "templates": sum(r.database_label.startswith("template:") for r in rest),
            "skipped": run.records.filter(status=RecordStatus.SKIPPED).count()})
    with MigrationPool(ledger.migrate, options.parallel, on_start=ledger.started, on_done=ledger.finished) as pool:
        if canary and not pool.run(canary, stop_on_failure=True):
            return RunStatus.FAILED, f"canary failed on {len(_failed(run))} of {len(canary)} database(s); run stopped"
        ok = pool.run(rest, stop_on_failure=not options.continue_on_error)
    failed = _failed(run)
    if not ok or failed:
        return RunStatus.FAILED, f"{len(failed)} database(s) failed: {', '.join(failed[:20])}"
    return RunStatus.DONE, ""


def target_key(options: RunOptions) -> Any:
    """Return the executor's target for `options.target`: (app, name), (app, None) for zero, or None."""
    if not options.target:
        return None
    app, name = options.target
    return (app, None if name == "zero" else name)


def _target(record: MigrationRecord) -> Target:
    kind = TargetKind.TEMPLATE if record.database_label.startswith("template:") else TargetKind.TENANT
    return Target(record.database_label, record.server, record.database, kind)


def _record_states(run: MigrationRun, fleet: FleetPlan) -> list[MigrationRecord]:
    """Create the run's records (control plane, templates, tenants); return those with work to do."""
    control = control_target()
    rows = [MigrationRecord(run=run, database_label=CONTROL, server=control.server, database=control.database,
                            status=RecordStatus.PENDING if fleet.control.migrations else RecordStatus.SKIPPED,
                            pending=list(fleet.control.migrations))]
    for state in fleet.states:
        target = state.target
        status = RecordStatus.PENDING if state.needs_work else RecordStatus.SKIPPED
        rows.append(MigrationRecord(run=run, database_label=target.label, server=target.server,
                                    database=target.database, status=status, pending=list(state.pending),
                                    error=state.error))
    MigrationRecord.objects.bulk_create(rows, batch_size=1000)
    return list(run.records.filter(status=RecordStatus.PENDING).order_by("id"))


def _failed(run: MigrationRun) -> list[str]:
    return list(run.records.filter(status=RecordStatus.FAILED).values_list("database_label", flat=True))


class Ledger:
    """Migrate records and keep the ledger current: running when started, the result when finished."""

    def __init__(self, run: MigrationRun, fleet: FleetPlan, notify: Progress, options: RunOptions) -> None:
        self.run, self.fleet, self.notify, self.options = run, fleet, notify, options
        self.rebuild = {s.target.label for s in fleet.states if s.rebuild}
        self.applied = {s.target.label: s.applied for s in fleet.states if not s.error}

    def control(self, record: MigrationRecord) -> bool:
        self.started([record])
        result = migrate_control(to=target_key(self.options), fake=self.options.fake)
        self.finished([(record, result)])
        self.notify({"event": "control", "applied": result.get("applied", [])})
        return bool(result["status"] == "done")

    def migrate(self, record: MigrationRecord) -> dict[str, Any]:
        target = _target(record)
        if self.options.executor_only:
            return migrate_database(target, self.fleet.book, to=target_key(self.options), fake=self.options.fake)
        if target.kind == TargetKind.TEMPLATE:
            return refresh_template(target, self.fleet.book, rebuild=target.label in self.rebuild,
                                    applied=self.applied.get(target.label))
        return migrate_database(target, self.fleet.book, self.applied.get(target.label))

    def started(self, records: list[MigrationRecord]) -> None:
        MigrationRecord.objects.filter(pk__in=[r.pk for r in records]).update(
            status=RecordStatus.RUNNING, error="", updated_at=timezone.now())

    def finished(self, results: list[tuple[MigrationRecord, dict[str, Any]]]) -> None:
        save_results([(record.pk, result) for record, result in results])
        for _, result in results:
            self.notify({"event": "database", **result})


def save_results(results: list[tuple[int, dict[str, Any]]]) -> None:
    """Write the outcome of finished databases in one statement (the coordinator's hot path)."""
    table = connections[CONTROL_ALIAS].ops.quote_name(MigrationRecord._meta.db_table)
    values = ", ".join(["(%s, %s, %s::varchar(200)[], %s, %s::integer, %s::integer)"] * len(results))
    params: list[Any] = []
    for pk, result in results:
        params += [pk, result["status"], result.get("applied", []), result.get("error", ""),
                   result.get("duration_ms"), result.get("attempts", 1)]
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET status = v.status, applied = v.applied, error = v.error, "
            "duration_ms = v.duration_ms, attempts = r.attempts + v.attempts, updated_at = now() "
            f"FROM (VALUES {values}) AS v(id, status, applied, error, duration_ms, attempts) WHERE r.id = v.id",
            params)

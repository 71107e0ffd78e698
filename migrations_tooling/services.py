"""Writes on migration runs: start one, resume one (with recorded option overrides)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from core.queue import enqueue_or_fail
from migrations_tooling import runner
from migrations_tooling.errors import MigrationErrorCode
from migrations_tooling.locks import run_lock_held
from migrations_tooling.models import MigrationRun, RunStatus
from tenants.audit import audit_record, audited

# Options a resume may change; the targets (tenants, exclude, canary) stay those of the run.
RESUME_OVERRIDES = ("allow_unsafe", "allow_unknown", "parallel", "continue_on_error")


class RunNotResumable(ApiError):
    status_code = 409
    code = MigrationErrorCode.INVALID_STATE


@audited("migration_run.start")
def migration_run_start(*, options: runner.RunOptions, requested_by: str, enqueue: bool = False,
                        actor: str = "") -> MigrationRun:
    """Create a queued run with `options`; with `enqueue`, send it to a worker.

    If the broker refuses the task, the run is deleted again and
    `QueueUnavailable` (503) is raised: no `queued` run waits for a task that
    was never sent. Without `enqueue` the caller executes the run itself (CLI).
    """
    with transaction.atomic(using=CONTROL_ALIAS):
        run = runner.start_run(options, requested_by=requested_by)
        audit_record(actor=actor or requested_by, action="migration_run.start", params={"run": run.pk, **run.options})
    if enqueue:
        _enqueue(run, undo=lambda: MigrationRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).delete())
    return run


def _enqueue(run: MigrationRun, *, undo: Callable[[], object]) -> None:
    # By name: migrations_tooling.tasks imports this module, not the reverse.
    enqueue_or_fail("migrations_tooling.execute_run", run.pk, undo=undo)


@audited("migration_run.resume")
def migration_run_resume(*, run: MigrationRun, overrides: dict[str, Any], requested_by: str,
                         enqueue: bool = False, actor: str = "") -> MigrationRun:
    """Queue `run` again, applying `overrides` and recording them in the ledger.

    Failed and refused runs resume; so does a run still marked running whose
    process died (nobody holds the global run lock). A done run, a queued one
    and a live one are refused. With `enqueue` the run is sent to a worker; if
    the broker refuses it, the run gets its status and options back and
    `QueueUnavailable` is raised.
    """
    if run.status in (RunStatus.DONE, RunStatus.QUEUED):
        raise RunNotResumable(f"Run {run.pk} is {run.status}; only failed, refused or dead runs resume.")
    if run.status == RunStatus.RUNNING and run_lock_held():
        raise RunNotResumable(f"Run {run.pk} is running; wait for it to finish.")
    changes = {key: value for key, value in overrides.items()
               if key in RESUME_OVERRIDES and value is not None and run.options.get(key) != value}
    resumes = [*run.options.get("resumes", []),
               {"at": timezone.now().isoformat(), "by": requested_by, "was": run.status, "overrides": changes}]
    before = {"status": run.status, "options": run.options}
    run.options = {**run.options, **changes, "resumes": resumes}
    run.status = RunStatus.QUEUED
    with transaction.atomic(using=CONTROL_ALIAS):
        run.save(update_fields=["options", "status"])
        audit_record(actor=actor or requested_by, action="migration_run.resume",
                     params={"run": run.pk, "was": before["status"], "overrides": changes})
    if enqueue:
        _enqueue(run, undo=lambda: MigrationRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(**before))
    return run

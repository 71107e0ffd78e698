"""Writes on migration runs: start one, resume one (with recorded option overrides)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from core.errors import ApiError
from migrations_tooling import runner
from migrations_tooling.locks import run_lock_held
from migrations_tooling.models import MigrationRun, RunStatus

# Options a resume may change; the targets (tenants, exclude, canary) stay those of the run.
RESUME_OVERRIDES = ("allow_unsafe", "allow_unknown", "parallel", "continue_on_error")


class RunNotResumable(ApiError):
    status_code = 409
    code = "invalid_state"


def migration_run_start(*, options: runner.RunOptions, requested_by: str) -> MigrationRun:
    """Create a queued run with `options`."""
    return runner.start_run(options, requested_by=requested_by)


def migration_run_resume(*, run: MigrationRun, overrides: dict[str, Any], requested_by: str) -> MigrationRun:
    """Queue `run` again, applying `overrides` and recording them in the ledger.

    Failed and refused runs resume; so does a run still marked running whose
    process died (nobody holds the global run lock). A done run, a queued one
    and a live one are refused.
    """
    if run.status in (RunStatus.DONE, RunStatus.QUEUED):
        raise RunNotResumable(f"Run {run.pk} is {run.status}; only failed, refused or dead runs resume.")
    if run.status == RunStatus.RUNNING and run_lock_held():
        raise RunNotResumable(f"Run {run.pk} is running; wait for it to finish.")
    changes = {key: value for key, value in overrides.items()
               if key in RESUME_OVERRIDES and value is not None and run.options.get(key) != value}
    resumes = [*run.options.get("resumes", []),
               {"at": timezone.now().isoformat(), "by": requested_by, "was": run.status, "overrides": changes}]
    run.options = {**run.options, **changes, "resumes": resumes}
    run.status = RunStatus.QUEUED
    run.save(update_fields=["options", "status"])
    return run

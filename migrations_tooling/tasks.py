"""Celery task for migration runs started through the platform API (thin: calls the runner)."""

from __future__ import annotations

from celery import shared_task

from migrations_tooling import runner
from migrations_tooling.locks import RunInProgress


# acks_late + reject_on_worker_lost: a worker killed mid-run does not ack, so the
# broker redelivers the task; the new execution finds the run lock free (it died
# with the killed worker's connection) and resumes the run.
@shared_task(name="migrations_tooling.execute_run", acks_late=True, reject_on_worker_lost=True)
def execute_run(run_id: int) -> str:
    """Execute (or resume) migration run `run_id`; return its final status."""
    try:
        return runner.execute(run_id).status
    except RunInProgress:
        return "refused: another run holds the run lock"  # the ledger says so (run marked failed)

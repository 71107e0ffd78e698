"""Run backup, restore and clone jobs: resumable steps, a failure handler per kind, a watchdog.

These jobs share the provisioning machinery (ProvisioningJob rows, the job's
advisory lock, step ledger and heartbeat) but not its state machine: each
kind is a `Flow`, its steps and what to undo when it fails. A step is
idempotent and recorded when it finishes, so a redelivered task resumes
after the last finished step. The provisioning watchdog leaves these kinds
alone (a thousand scheduled backups wait in the queue legitimately);
`data_jobs_watchdog` fails a running job whose worker died.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from tenants import backups, provisioning, restore_steps
from tenants.heartbeat import Heartbeat
from tenants.jobflows import Flow, Progress
from tenants.models import DATA_JOB_KINDS, JobStatus, ProvisioningJob

logger = logging.getLogger("tessera.provisioning")


def flows() -> dict[str, Flow]:
    """Return the flow of each data job kind."""
    return {**backups.FLOWS, **restore_steps.FLOWS}


def data_job_run(*, job_id: int, progress: Progress | None = None) -> str:
    """Run (or resume) a backup, restore or clone job to the end; return its final status."""
    with provisioning.job_lock(job_id) as mine:
        if not mine:
            return "locked"  # another worker runs this very job
        job = provisioning._start(job_id)
        if job is None:
            return "skipped"
        flow = flows()[job.payload.get("flow") or job.kind]
        try:
            _run_steps(job, flow, progress)
        except Exception as exc:
            logger.exception("%s job %s of tenant %s failed", job.kind, job.pk, job.tenant.slug)
            data_job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
            return JobStatus.FAILED
        job.status, job.finished_at, job.error = JobStatus.DONE, timezone.now(), ""
        job.save(update_fields=["status", "finished_at", "error"])
        return JobStatus.DONE


def _run_steps(job: ProvisioningJob, flow: Flow, progress: Progress | None) -> None:
    for name, step in flow.steps:
        if name in job.steps_done:
            continue
        started = time.perf_counter()
        with Heartbeat(job.pk):
            step(job)
        provisioning._record_step(job, name)
        if progress:
            progress(name, time.perf_counter() - started)


def data_job_fail(*, job: ProvisioningJob, error: str) -> None:
    """Undo what the job's kind must undo, then mark the job failed with the error (and the undo's note)."""
    job.error = error[:4000]  # the undo may record it (a backup's own error)
    try:
        note = flows()[job.payload.get("flow") or job.kind].on_fail(job)
    except Exception as exc:  # the job must still end failed; the note says what is left to do
        logger.exception("undoing %s job %s failed", job.kind, job.pk)
        note = f" (undo failed: {type(exc).__name__}: {exc})"
    job.status, job.error, job.finished_at = JobStatus.FAILED, (error + note)[:4000], timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def data_jobs_watchdog() -> int:
    """Fail running data jobs whose worker died (stale heartbeat, lock free); return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.PROVISIONING_STALL_SECONDS)
    stalled = ProvisioningJob.objects.using(CONTROL_ALIAS).filter(
        kind__in=DATA_JOB_KINDS, status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).select_related("tenant")
    failed = 0
    for job in stalled:
        with provisioning.job_lock(job.pk) as mine:
            if mine and ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING,
                                                       heartbeat_at=job.heartbeat_at).exists():
                data_job_fail(job=job, error="no progress: the worker running the job stopped")
                failed += 1
    return failed

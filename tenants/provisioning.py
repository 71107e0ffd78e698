"""The provisioning state machine: resumable, idempotent steps with a ledger.

    template -> create_database -> admin_user -> activate

Each step is idempotent and recorded in `ProvisioningJob.steps_done` when it
finishes, so a retry (or a redelivered task) resumes after the last finished
step. One job runs at a time: a PostgreSQL advisory lock on the control
database, held for the run, makes a concurrent run of the same job a no-op;
the lock dies with a killed worker's connection. A failure marks the tenant
`failed` with the error and drops the database this tenant owns, so nothing
half-created is left behind. A database the job creates carries its owner in
its comment (`tessera-tenant:<id>`), which is what lets the orphan sweep
(`tenants.orphans`) drop leftovers and nothing else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.locks import LockPurpose, lock_key
from routers import ensure_registered, tenant_context, tenant_keys_purge, unregister
from tenants import dbops, limits, moving, pooler, resolution, selectors
from tenants.heartbeat import Heartbeat
from tenants.marks import OWNER_MARK, owner_mark
from tenants.models import JobKind, JobStatus, ProvisioningJob, Tenant, TenantStatus
from tenants.templates import ensure_template

logger = logging.getLogger("tessera.provisioning")
DATABASE_STEPS = ("create_database", "admin_user")
LIVE = (TenantStatus.PROVISIONING, TenantStatus.ACTIVE, TenantStatus.SUSPENDED)
# The statuses a failing job may move its tenant from (a deleted tenant stays deleted).
# A move never changes its tenant's status: a failed move leaves it active where it was.
FAILABLE: dict[str, tuple[TenantStatus, ...]] = {JobKind.PROVISION: (TenantStatus.PROVISIONING, TenantStatus.FAILED),
            JobKind.DELETE: (TenantStatus.DELETING,), JobKind.MOVE: ()}


class ActivationRefused(Exception):
    """The tenant may not become active: it left `provisioning` or lost its database."""


class DeletionRefused(Exception):
    """A delete job found its tenant in a state that forbids dropping anything."""


def cloning() -> bool:
    """True for template cloning (default); False replays migrations (the slow fallback)."""
    return settings.TENANT_PROVISIONING_STRATEGY != "migrate"


def step_template(tenant: Tenant, job: ProvisioningJob) -> None:
    if cloning():
        ensure_template(tenant.server_id)


def step_create_database(tenant: Tenant, job: ProvisioningJob) -> None:
    server, name, mark = tenant.server_id, tenant.database, owner_mark(tenant)
    with dbops.server_connection(server) as conn:  # one backend for the whole step
        comment = dbops.database_comment(conn, name)
        if comment and comment.startswith(OWNER_MARK) and comment != mark:
            # A dead tenant's leftover under the same name: never hand its data on.
            _refuse_if_owner_lives(comment, name)
            logger.warning("dropping %s on %s: it belonged to %s", name, server, comment)
            dbops.drop_owned_database(conn, name, mark=comment)
            comment = None
        if comment is None:
            dbops.create_database(conn, name, template=settings.TENANT_TEMPLATE_DB if cloning() else None)
        dbops.set_comment(conn, name, mark)
        limits.database_limits_apply(conn, name, plan=tenant.plan)
    if comment is None and not cloning():
        _migrate(tenant)
    pooler.pooler_config_refresh(server=server)  # its pool sized by its plan before it serves


def marked_tenant_id(comment: str) -> int | None:
    """Return the tenant id an owner mark names (None when `comment` is no owner mark)."""
    suffix = comment[len(OWNER_MARK):] if comment.startswith(OWNER_MARK) else ""
    return int(suffix) if suffix.isdigit() else None


def _refuse_if_owner_lives(comment: str, name: str) -> None:
    """Raise OwnerMismatch when the tenant that `comment` names is still alive."""
    owner = marked_tenant_id(comment)
    if owner is None or Tenant.objects.filter(pk=owner, status__in=LIVE).exists():
        raise dbops.OwnerMismatch(f"database {name} is marked {comment!r}, a live tenant: refusing to drop it")


def _migrate(tenant: Tenant) -> None:

    spec = selectors.tenant_spec(tenant)
    ensure_registered(spec)
    call_command("migrate", database=spec.direct_alias, verbosity=0, interactive=False)
    connections[spec.direct_alias].close()


def step_admin_user(tenant: Tenant, job: ProvisioningJob) -> None:
    """Create the tenant's admin user, straight on the primary (a new database never waits on the pooler)."""
    spec = selectors.tenant_spec(tenant)
    with tenant_context(spec):
        users = get_user_model().objects.db_manager(spec.direct_alias)
        try:
            if not users.filter(username=tenant.admin_email).exists():
                user = users.model(username=tenant.admin_email, email=tenant.admin_email,
                                   is_staff=True, is_superuser=True)
                user.password = job.payload.get("password_hash", "!")
                user.save(using=spec.direct_alias)
        finally:
            connections[spec.direct_alias].close()


def step_activate(tenant: Tenant, job: ProvisioningJob) -> None:
    """Move the tenant from `provisioning` to `active` (compare-and-set), if its database exists.

    A tenant that left `provisioning` meanwhile (the watchdog failed it) must not
    come back to life; a tenant already active was activated by an earlier run
    of this very step (a crash before the step was recorded).
    """
    if not dbops.database_exists(tenant.server_id, tenant.database):
        raise ActivationRefused(f"database {tenant.database} is missing on server {tenant.server_id}")
    now = timezone.now()
    with transaction.atomic(using=CONTROL_ALIAS):  # whoever sees the tenant active sees the step done
        activated = Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.PROVISIONING).update(
            status=TenantStatus.ACTIVE, activated_at=now, error="", updated_at=now)
        if activated:
            _record_step(job, "activate")
    if activated:
        resolution.invalidate()
        return
    status, activated_at = Tenant.objects.filter(pk=tenant.pk).values_list("status", "activated_at").get()
    if activated_at is None or status not in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED):
        raise ActivationRefused(f"tenant {tenant.slug} is {status}, no longer provisioning")


def step_drop_database(tenant: Tenant, job: ProvisioningJob) -> None:
    """Drop the tenant's database, if it is still marked as this tenant's (idempotent).

    A stale job (a duplicate, a redelivery) may run after the slug was re-created:
    the database under that name then carries the new tenant's mark and is refused.
    """
    status = Tenant.objects.filter(pk=tenant.pk).values_list("status", flat=True).first()
    if status not in (TenantStatus.DELETING, TenantStatus.DELETED):
        raise DeletionRefused(f"tenant {tenant.slug} (id {tenant.pk}) is {status}, not deleting")
    unregister(tenant.slug)
    dbops.drop_owned_database(tenant.server_id, tenant.database, mark=owner_mark(tenant))


def step_mark_deleted(tenant: Tenant, job: ProvisioningJob) -> None:
    """Mark the tenant deleted, free its domains and purge its cache keys."""
    tenant_keys_purge(selectors.tenant_spec(tenant))
    with transaction.atomic(using=CONTROL_ALIAS):
        tenant.domains.all().delete()
        Tenant.objects.filter(pk=tenant.pk).update(
            status=TenantStatus.DELETED, deleted_at=timezone.now(), updated_at=timezone.now())
    resolution.invalidate()


STEPS: dict[str, tuple[tuple[str, Callable[[Tenant, ProvisioningJob], None]], ...]] = {
    JobKind.PROVISION: (("template", step_template), ("create_database", step_create_database),
                        ("admin_user", step_admin_user), ("activate", step_activate)),
    JobKind.DELETE: (("drop_database", step_drop_database), ("mark_deleted", step_mark_deleted)),
}


Progress = Callable[[str, float], None]


def job_run(*, job_id: int, progress: Progress | None = None) -> str:
    """Run (or resume) a job to the end; return its final status.

    `progress(step, seconds)` is called after each step that ran.
    """
    with job_lock(job_id) as mine:
        if not mine:
            return "locked"  # another worker is running this very job
        job = _start(job_id)
        if job is None:
            return "skipped"
        try:
            _run_steps(job, progress)
        except Exception as exc:
            logger.exception("%s of tenant %s failed", job.kind, job.tenant.slug)
            job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
            return JobStatus.FAILED
        _finish(job)
        return JobStatus.DONE


def steps_of(kind: str) -> tuple[tuple[str, Callable[[Tenant, ProvisioningJob], None]], ...]:
    """Return the steps of a job kind (a move's live in tenants.moving)."""
    if kind == JobKind.MOVE:
        return moving.STEPS
    return STEPS[kind]


def _run_steps(job: ProvisioningJob, progress: Progress | None) -> None:
    for name, step in steps_of(job.kind):
        if name in job.steps_done:
            continue
        started = time.perf_counter()
        with Heartbeat(job.pk):
            step(job.tenant, job)
        _record_step(job, name)
        if progress:
            progress(name, time.perf_counter() - started)
        if settings.PROVISIONING_STEP_PAUSE_SECONDS:
            time.sleep(settings.PROVISIONING_STEP_PAUSE_SECONDS)


def _start(job_id: int) -> ProvisioningJob | None:
    with transaction.atomic(using=CONTROL_ALIAS):
        job = (ProvisioningJob.objects.select_for_update().select_related("tenant")
               .filter(pk=job_id).first())
        if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED):
            return None
        job.status, job.attempts = JobStatus.RUNNING, job.attempts + 1
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "attempts", "started_at", "heartbeat_at"])
    return job


def _record_step(job: ProvisioningJob, name: str) -> None:
    if name in job.steps_done:
        return  # the step recorded itself, in its own transaction
    job.steps_done = [*job.steps_done, name]
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["steps_done", "heartbeat_at"])


def _finish(job: ProvisioningJob) -> None:
    job.status, job.finished_at, job.error = JobStatus.DONE, timezone.now(), ""
    if job.kind != JobKind.MOVE:  # a move's payload is its plan and figures, no secret
        job.payload = {}  # the password hash has served its purpose
    job.save(update_fields=["status", "finished_at", "error", "payload"])


def job_fail(*, job: ProvisioningJob, error: str) -> None:
    """Mark the job failed, and its tenant if the job still speaks for it; drop what a provisioning created.

    A failed provisioning leaves its tenant `failed`, a failed deletion leaves
    it `deleting` (`retry` resumes either). A tenant in any other state (a stale
    job of a tenant already deleted) keeps its state.
    """
    tenant = job.tenant
    speaks = Tenant.objects.filter(pk=tenant.pk, status__in=FAILABLE[job.kind]).exists()
    cleanup = ""
    if job.kind == JobKind.PROVISION and speaks:
        cleanup = _drop_owned_database(tenant)
        job.steps_done = [s for s in job.steps_done if s not in DATABASE_STEPS]
    if job.kind == JobKind.MOVE:
        cleanup = moving.move_rollback(job=job)
    job.status, job.error, job.finished_at = JobStatus.FAILED, (error + cleanup)[:4000], timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "steps_done"])
    status = TenantStatus.FAILED if job.kind == JobKind.PROVISION else TenantStatus.DELETING
    if FAILABLE[job.kind]:
        Tenant.objects.filter(pk=tenant.pk, status__in=FAILABLE[job.kind]).update(
            status=status, error=job.error, updated_at=timezone.now())
    resolution.invalidate()


def _drop_owned_database(tenant: Tenant) -> str:
    try:
        unregister(tenant.slug)
        dbops.drop_owned_database(tenant.server_id, tenant.database, mark=owner_mark(tenant))
    except dbops.OwnerMismatch as exc:  # not ours: never the sweep's either
        return f" (database left alone: {exc})"
    except Exception as exc:  # the watchdog's orphan sweep drops it later; say so in the error
        logger.exception("could not drop %s on %s", tenant.database, tenant.server_id)
        return f" (database cleanup pending, left to the orphan sweep: {exc})"
    return ""


def job_requeue(*, job: ProvisioningJob) -> bool:
    """Put a stalled job back to pending (compare-and-set); True if this call did it.

    A job no worker ever picked up counts the lost delivery as an attempt, so a
    job cannot wait forever: after PROVISIONING_MAX_ATTEMPTS it fails.
    """
    lost = 1 if job.status == JobStatus.PENDING else 0
    return bool(ProvisioningJob.objects
                .filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at, queued_at=job.queued_at)
                .update(status=JobStatus.PENDING, heartbeat_at=None, queued_at=timezone.now(),
                        attempts=job.attempts + lost))


class RescueOutcome(StrEnum):
    """What the watchdog did with a stalled job (the keys of its counts)."""

    BUSY = "busy"
    FAILED = "failed"
    REQUEUED = "requeued"


def job_rescue(*, job: ProvisioningJob) -> RescueOutcome | None:
    """Fail a stalled job out of attempts, or put it back to pending; return what was done.

    Returns BUSY when a live session holds the job's lock (a slow but healthy
    run: its heartbeat is late, not its worker dead), FAILED, REQUEUED
    (the caller queues it again), or None when the job moved on meanwhile.
    The lock is held while deciding, so no worker starts the job under us.
    """
    with job_lock(job.pk) as mine:
        if not mine:
            return RescueOutcome.BUSY
        current = (ProvisioningJob.objects.select_related("tenant")
                   .filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at, queued_at=job.queued_at)
                   .first())
        if current is None:
            return None
        if current.attempts >= settings.PROVISIONING_MAX_ATTEMPTS:
            job_fail(job=current, error="no progress: the job stalled on every attempt")
            return RescueOutcome.FAILED
        return RescueOutcome.REQUEUED if job_requeue(job=current) else None


@contextmanager
def job_lock(job_id: int) -> Iterator[bool]:
    """Hold the job's advisory lock for the block if it is free; yield whether it was."""
    mine = _try_lock(job_id)
    try:
        yield mine
    finally:
        if mine:
            _unlock(job_id)


def _try_lock(job_id: int) -> bool:
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", lock_key(LockPurpose.PROVISIONING_JOB, job_id))
        return bool(cursor.fetchone()[0])


def _unlock(job_id: int) -> None:
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(LockPurpose.PROVISIONING_JOB, job_id))

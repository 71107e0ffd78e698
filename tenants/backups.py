"""Backups of tenant databases: take, verify, schedule, and let go by retention.

A backup is a job (kind `backup`) with two steps:

    dump -> verify

`dump` runs `pg_dump -Fc` against the tenant's primary (directly, not through
PgBouncer) while the tenant keeps serving: the dump is one snapshot, so it is
consistent however many writes run meanwhile. The file is copied to the
backup storage with its sha256. `verify` reads the stored copy back, checks
its checksum and has `pg_restore --list` parse it; only then is the backup
`done`. A restore into a scratch database would prove more but costs as much
as the dump again, for every backup; it is done by every actual restore
instead, which re-checks the checksum before it creates anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from core.queue import QueueUnavailable, enqueue_or_fail
from tenants import backupstore, pgtools
from tenants.audit import audit_record, audited
from tenants.errors import TenantErrorCode
from tenants.jobflows import Flow
from tenants.models import (
    OPEN_JOB_STATUSES,
    Backup,
    BackupStatus,
    JobKind,
    Plan,
    ProvisioningJob,
    Tenant,
    TenantStatus,
)
from tenants.retention import Retention, expired, parse_retention

logger = logging.getLogger("tessera.backups")
BACKUPABLE = (TenantStatus.ACTIVE, TenantStatus.SUSPENDED)
SCHEDULED_BY = "schedule"


def retention_of(plan: str) -> Retention:
    """Return the retention rule of `plan`."""
    return parse_retention(settings.BACKUP_RETENTION, list(Plan.values))[plan]


@audited("backup.create")
def backup_create(*, tenant: Tenant, requested_by: str, enqueue: bool = True) -> Backup:
    """Record a backup of `tenant` and queue it (with `enqueue=False` the caller runs the job)."""
    if tenant.status not in BACKUPABLE:
        raise ApiError(f"Tenant '{tenant.slug}' is {tenant.status}; only an active or suspended tenant is backed up.",
                       code=TenantErrorCode.INVALID_STATE, status_code=409)
    with transaction.atomic(using=CONTROL_ALIAS):
        job = ProvisioningJob.objects.using(CONTROL_ALIAS).create(
            tenant=tenant, kind=JobKind.BACKUP, requested_by=requested_by)
        backup = Backup.objects.using(CONTROL_ALIAS).create(
            tenant=tenant, job=job, server=tenant.server_id, database=tenant.database, requested_by=requested_by,
            expires_at=retention_of(tenant.plan).expires(timezone.now()))
        job.payload = {"backup_id": backup.pk}
        job.save(update_fields=["payload"])
        audit_record(actor=requested_by, action="backup.create", target=tenant,
                     params={"backup": backup.pk, "job": job.pk})
    if enqueue:
        def undo() -> None:
            backup.delete()
            job.delete()

        enqueue_or_fail("tenants.data_job", job.pk, undo=undo)
    return backup


def _backup_of(job: ProvisioningJob) -> Backup:
    return Backup.objects.using(CONTROL_ALIAS).select_related("tenant").get(pk=job.payload["backup_id"])


def step_dump(job: ProvisioningJob) -> None:
    """Dump the tenant database to scratch, then copy it to the backup storage with its checksum."""
    backup = _backup_of(job)
    tenant = Tenant.objects.using(CONTROL_ALIAS).get(pk=backup.tenant_id)  # where it lives now
    backupstore.delete(backup.storage_name)  # a redelivered step starts over
    Backup.objects.filter(pk=backup.pk).update(status=BackupStatus.RUNNING, server=tenant.server_id,
                                               database=tenant.database)
    with backupstore.scratch_file() as path:
        pgtools.dump_to_file(server=tenant.server_id, database=tenant.database, path=path)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        name, size, checksum = backupstore.store(path=path, name=f"{tenant.pk}-{tenant.slug}/{stamp}-{backup.pk}.dump")
    Backup.objects.filter(pk=backup.pk).update(storage_name=name, size=size, checksum=checksum)


def step_verify(job: ProvisioningJob) -> None:
    """Read the stored file back (checksum and `pg_restore --list`); report the backup done."""
    backup = _backup_of(job)
    backupstore.verify(name=backup.storage_name, checksum=backup.checksum, server=backup.server)
    Backup.objects.filter(pk=backup.pk).update(status=BackupStatus.DONE, finished_at=timezone.now(), error="")


def backup_fail(job: ProvisioningJob) -> str:
    """Mark the backup failed and delete whatever it stored (a failed backup keeps no file)."""
    backup = _backup_of(job)
    backupstore.delete(backup.storage_name)
    Backup.objects.filter(pk=backup.pk).update(status=BackupStatus.FAILED, finished_at=timezone.now(),
                                               error=job.error or "failed")
    return ""


FLOWS: dict[str, Flow] = {
    JobKind.BACKUP: Flow(steps=(("dump", step_dump), ("verify", step_verify)), on_fail=backup_fail),
}


def backups_schedule() -> int:
    """Queue a backup of every active tenant that has none open; return how many were queued.

    Each backup is its own task: the workers' concurrency, not this loop,
    decides how many dumps run at once. A backup still pending from the last
    round (its task was lost) is failed and replaced.
    """
    stale = timezone.now() - timedelta(seconds=settings.BACKUP_SCHEDULE_SECONDS)
    Backup.objects.using(CONTROL_ALIAS).filter(status=BackupStatus.PENDING, created_at__lt=stale).update(
        status=BackupStatus.FAILED, error="never started: its task was lost", finished_at=timezone.now())
    busy = set(Backup.objects.using(CONTROL_ALIAS).filter(status__in=OPEN_JOB_STATUSES, created_at__gte=stale)
               .values_list("tenant_id", flat=True))
    queued = 0
    for tenant in Tenant.objects.using(CONTROL_ALIAS).filter(status=TenantStatus.ACTIVE).exclude(pk__in=busy):
        try:
            backup_create(tenant=tenant, requested_by=SCHEDULED_BY)
        except QueueUnavailable:  # the next round tries again
            logger.warning("backup schedule stopped after %d tenants: the queue is unavailable", queued)
            break
        queued += 1
    return queued


def backups_sweep(*, now: datetime | None = None) -> int:
    """Delete the files and rows of backups the retention policy lets go; return how many."""
    now = now or timezone.now()
    in_use = _backups_in_use()
    deleted = 0
    for tenant in Tenant.objects.using(CONTROL_ALIAS).filter(backups__isnull=False).distinct():
        rule = retention_of(tenant.plan)
        good = list(Backup.objects.using(CONTROL_ALIAS).filter(tenant=tenant, status=BackupStatus.DONE)
                    .values_list("pk", "created_at"))
        failed = Backup.objects.using(CONTROL_ALIAS).filter(
            tenant=tenant, status=BackupStatus.FAILED, created_at__lte=now - timedelta(days=rule.days))
        live = tenant.status != TenantStatus.DELETED
        doomed = set(expired(good, rule, now, keep_newest=live)) | set(failed.values_list("pk", flat=True))
        for backup in Backup.objects.using(CONTROL_ALIAS).filter(pk__in=doomed - in_use):
            backupstore.delete(backup.storage_name)
            backup.delete()
            deleted += 1
    return deleted


def _backups_in_use() -> set[int]:
    """Return the backups an open restore reads from (the sweep must not pull them away)."""
    payloads = ProvisioningJob.objects.using(CONTROL_ALIAS).filter(
        kind=JobKind.RESTORE, status__in=OPEN_JOB_STATUSES).values_list("payload", flat=True)
    return {int(payload["backup_id"]) for payload in payloads if payload.get("backup_id")}

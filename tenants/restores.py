"""Restore a backup (as a new tenant, or in place) and clone a live tenant: the requests' side.

Each call validates everything it can before recording anything (unknown
backup 404, taken slug 409, tenant in the wrong state 409 `invalid_state`, a
backup file missing from the storage 409 `backup_unusable`), records the job
and queues it; if the broker refuses it, what was recorded is undone
(`core.queue.enqueue_or_fail`). The steps are in `tenants.restore_steps`.

A restore in place is exclusive (kind `restore`: one move, delete or restore
per tenant) and puts the tenant in `maintenance` at once, so no write lands
in a database that is about to be replaced.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError, CoreErrorCode
from core.queue import enqueue_or_fail
from routers import database_name_for
from tenants import backupstore, operations, resolution, selectors, services
from tenants.audit import audit_record, audited
from tenants.errors import TenantErrorCode
from tenants.models import Backup, BackupStatus, JobKind, ProvisioningJob, Tenant, TenantStatus


def _backup_ready(tenant: Tenant, backup_id: int) -> Backup:
    backup = selectors.backup_of(tenant=tenant, backup_id=backup_id)
    if backup is None:
        raise ApiError("Backup not found.", code=CoreErrorCode.NOT_FOUND, status_code=404)
    if backup.status != BackupStatus.DONE:
        raise ApiError(f"Backup {backup.pk} is {backup.status}; only a verified (done) backup is restored.",
                       code=TenantErrorCode.INVALID_STATE, status_code=409)
    if not backupstore.backup_storage().exists(backup.storage_name):
        raise ApiError(f"The file of backup {backup.pk} is missing from the backup storage; nothing was changed.",
                       code=TenantErrorCode.BACKUP_UNUSABLE, status_code=409)
    return backup


def _require_status(tenant: Tenant, *allowed: TenantStatus) -> None:
    if tenant.status not in allowed:
        raise ApiError(f"Tenant '{tenant.slug}' is {tenant.status}; it must be {' or '.join(allowed)}.",
                       code=TenantErrorCode.INVALID_STATE, status_code=409)


def _queue(job: ProvisioningJob, *, undo: Any) -> None:
    def undo_all() -> None:
        with transaction.atomic(using=CONTROL_ALIAS):
            undo()
        resolution.invalidate()

    enqueue_or_fail("tenants.data_job", job.pk, undo=undo_all)


def _into_new_tenant(*, source: Tenant, slug: str, kind: JobKind, payload: dict[str, Any], requested_by: str,
                     server: str | None, name: str | None, enqueue: bool, action: str) -> ProvisioningJob:
    with transaction.atomic(using=CONTROL_ALIAS):
        tenant = services.tenant_reserve(slug=slug, name=name or source.name, admin_email=source.admin_email,
                                         plan=source.plan, server=server or source.server_id)
        job = ProvisioningJob.objects.using(CONTROL_ALIAS).create(
            tenant=tenant, kind=kind, requested_by=requested_by, payload=payload)
        audit_record(actor=requested_by, action=action, target=source,
                     params={**payload, "as": slug, "server": tenant.server_id, "job": job.pk})
    resolution.invalidate()  # drop any "no such tenant" answer cached for the slug
    if enqueue:
        _queue(job, undo=lambda: Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.PROVISIONING).delete())
    return job


@audited("backup.restore")
def restore_as_new(*, tenant: Tenant, backup_id: int, slug: str, requested_by: str, server: str | None = None,
                   name: str | None = None, enqueue: bool = True) -> ProvisioningJob:
    """Queue restoring `backup_id` of `tenant` into a new tenant `slug` with its own database and no tokens.

    With `enqueue=False` nothing is queued: the caller runs the job (`tenants.datajobs.data_job_run`).
    """
    backup = _backup_ready(tenant, backup_id)
    return _into_new_tenant(source=tenant, slug=slug, kind=JobKind.RESTORE, requested_by=requested_by,
                            payload={"flow": "restore_new", "backup_id": backup.pk}, server=server, name=name,
                            enqueue=enqueue, action="backup.restore")


@audited("tenant.clone")
def clone_create(*, tenant: Tenant, slug: str, requested_by: str, server: str | None = None,
                 name: str | None = None) -> ProvisioningJob:
    """Queue copying the live `tenant` into a new tenant `slug` (its own database, no tokens)."""
    _require_status(tenant, TenantStatus.ACTIVE)
    return _into_new_tenant(source=tenant, slug=slug, kind=JobKind.CLONE, requested_by=requested_by,
                            payload={"flow": "clone", "source_id": tenant.pk}, server=server, name=name,
                            enqueue=True, action="tenant.clone")


@audited("backup.restore")
def restore_in_place(*, tenant: Tenant, backup_id: int, requested_by: str, enqueue: bool = True) -> ProvisioningJob:
    """Put `tenant` in maintenance and queue restoring `backup_id` into a new database that then serves it.

    With `enqueue=False` nothing is queued: the caller runs the job.
    """
    backup = _backup_ready(tenant, backup_id)
    _require_status(tenant, TenantStatus.ACTIVE)
    previous = tenant.database
    with transaction.atomic(using=CONTROL_ALIAS):
        if not Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.ACTIVE, database=previous).update(
                status=TenantStatus.MAINTENANCE, updated_at=timezone.now()):
            raise ApiError(f"Tenant '{tenant.slug}' changed meanwhile; try again.", code=TenantErrorCode.INVALID_STATE,
                           status_code=409)
        job = operations.exclusive_job_create(tenant=tenant, kind=JobKind.RESTORE, requested_by=requested_by,
                                              payload={"flow": "restore_in_place", "backup_id": backup.pk,
                                                       "previous": previous})
        base = database_name_for(tenant.slug, settings.TENANT_DB_NAME_PREFIX)
        job.payload["database"] = f"{base[:50]}_r{job.pk}"
        job.save(update_fields=["payload"])
        audit_record(actor=requested_by, action="backup.restore", target=tenant,
                     params={"flow": "restore_in_place", "backup_id": backup.pk, "job": job.pk})
    resolution.invalidate()  # after the commit: no process may cache the tenant as active again

    def undo() -> None:
        ProvisioningJob.objects.filter(pk=job.pk).delete()
        Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.MAINTENANCE).update(status=TenantStatus.ACTIVE)

    if enqueue:
        _queue(job, undo=undo)
    return job

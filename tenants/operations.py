"""Exclusive tenant operations: who asked, and one database-changing job per tenant at a time.

A move, a restore, a delete (and a fleet migration, which holds the fleet run
lock) all change or drop the database that serves a tenant, so at most one of
them may be open for a tenant at once. The `one_exclusive_job_per_tenant`
constraint on ProvisioningJob makes that hold under any concurrency; this
module turns a clash into a 409 `operation_in_progress` that names what is
running, and records who asked for each job (`requested_by`).
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.db import IntegrityError, connections, transaction

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from core.locks import LockPurpose, lock_key
from tenants.errors import TenantErrorCode
from tenants.models import EXCLUSIVE_JOB_KINDS, OPEN_JOB_STATUSES, JobKind, ProvisioningJob, Tenant


class OperationInProgress(ApiError):
    status_code = 409
    code = TenantErrorCode.OPERATION_IN_PROGRESS
    detail = "Another operation is running on this tenant."


def actor_of_request(request: Any) -> str:
    """Return who made `request`: `token:<username>` for a token, `user:<username>` for a session."""
    user = getattr(request, "user", None)
    name = getattr(user, "get_username", lambda: "")() if user is not None else ""
    if not name:
        return "anonymous"
    return f"token:{name}" if getattr(request, "auth", None) is not None else f"user:{name}"


def actor_of_cli() -> str:
    """Return `cli:<os user>` for a management command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container with an arbitrary uid)
        user = str(os.getuid())
    return f"cli:{user}"


def open_exclusive_job(tenant: Tenant) -> ProvisioningJob | None:
    """Return the tenant's open move, restore or delete job, if any (read on the primary)."""
    return (ProvisioningJob.objects.using(CONTROL_ALIAS)
            .filter(tenant=tenant, kind__in=EXCLUSIVE_JOB_KINDS, status__in=OPEN_JOB_STATUSES)
            .first())


def fleet_run_in_progress() -> bool:
    """True while a migrate_tenants run holds the fleet run lock (on the control database)."""
    key1, key2 = lock_key(LockPurpose.FLEET_RUN)
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                       " AND classid = %s AND objid = %s AND objsubid = 2)", [key1, key2])
        row = cursor.fetchone()
    return bool(row and row[0])


def exclusive_job_create(*, tenant: Tenant, kind: JobKind, requested_by: str,
                         payload: dict[str, Any] | None = None) -> ProvisioningJob:
    """Create an exclusive job for `tenant`, or raise OperationInProgress naming the one that holds it.

    Call inside (or as) a control-plane transaction; the constraint is the
    arbiter, the pre-checks only make the message precise.
    """
    if fleet_run_in_progress():
        raise OperationInProgress("A fleet migration run is in progress; try again when it has finished.")
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            return ProvisioningJob.objects.using(CONTROL_ALIAS).create(
                tenant=tenant, kind=kind, requested_by=requested_by, payload=payload or {})
    except IntegrityError:
        running = open_exclusive_job(tenant)
        what = f"a {running.kind} (job {running.pk})" if running else "another operation"
        raise OperationInProgress(f"Tenant '{tenant.slug}' has {what} in progress.") from None


def busy_tenants() -> dict[str, str]:
    """Map each tenant with an open move, restore or delete to what is running (a fleet run skips them)."""
    jobs = (ProvisioningJob.objects.using(CONTROL_ALIAS)
            .filter(kind__in=EXCLUSIVE_JOB_KINDS, status__in=OPEN_JOB_STATUSES)
            .values_list("tenant__slug", "kind", "pk"))
    return {slug: f"operation in progress: {kind} (job {pk})" for slug, kind, pk in jobs}

"""Databases that no longer serve their tenant, kept for a grace period and then dropped.

A move leaves the source database behind; a restore in place keeps the
database it replaced as a safety copy. Both are *retired*: their owner mark is
rewritten from `tessera-tenant:<id>` to `tessera-retired:<id>` (so no check
that looks for a serving tenant's mark can mistake them), and a
RetiredDatabase row records when they may go. The sweep drops them through
the owner-checked drop, refusing any database whose mark changed since.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from tenants import dbops
from tenants.models import JobKind, ProvisioningJob, RetiredDatabase, Tenant

logger = logging.getLogger("tessera.provisioning")
RETIRED_MARK = "tessera-retired:"


def retired_mark(tenant: Tenant) -> str:
    """Return the comment of a retired database of `tenant`."""
    return f"{RETIRED_MARK}{tenant.pk}"


def database_retire(*, tenant: Tenant, server: str, database: str, reason: JobKind,
                    job: ProvisioningJob | None = None, grace: timedelta | None = None) -> RetiredDatabase:
    """Mark `server`/`database` as a retired copy of `tenant` and schedule its drop after the grace period."""
    if (tenant.server_id, tenant.database) == (server, database):
        raise ValueError(f"{server}/{database} still serves tenant {tenant.slug}: refusing to retire it")
    mark = retired_mark(tenant)
    dbops.set_comment(server, database, mark)
    grace = grace if grace is not None else timedelta(seconds=settings.RETIRED_DATABASE_GRACE_SECONDS)
    return RetiredDatabase.objects.using(CONTROL_ALIAS).create(
        tenant=tenant, server_id=server, database=database, mark=mark, reason=reason, job=job,
        drop_after=timezone.now() + grace)


def retired_databases_sweep(*, now: datetime | None = None) -> int:
    """Drop every retired database past its grace period (owner-checked, idempotent); return how many."""
    now = now or timezone.now()
    due = RetiredDatabase.objects.using(CONTROL_ALIAS).filter(dropped_at__isnull=True, drop_after__lte=now)
    dropped = 0
    for retired in due:
        try:
            dbops.drop_owned_database(retired.server_id, retired.database, mark=retired.mark)
        except dbops.OwnerMismatch as exc:
            RetiredDatabase.objects.using(CONTROL_ALIAS).filter(pk=retired.pk).update(error=str(exc))
            continue
        RetiredDatabase.objects.using(CONTROL_ALIAS).filter(pk=retired.pk).update(dropped_at=now, error="")
        logger.info("dropped retired database %s on %s", retired.database, retired.server_id)
        dropped += 1
    return dropped

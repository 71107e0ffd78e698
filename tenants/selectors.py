"""Reads of the control plane."""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.fields import ArrayField
from django.db.models import CharField, Count, Q, QuerySet, Value

from core.aliases import CONTROL_ALIAS
from routers import TenantSpec, replica_probe
from tenants.models import DATA_JOB_KINDS, Backup, DatabaseServer, JobStatus, ProvisioningJob, Tenant, TenantStatus

LIVE = ~Q(status=TenantStatus.DELETED)


def tenant_spec(tenant: Tenant) -> TenantSpec:
    return TenantSpec(tenant.slug, tenant.server_id, tenant.database, tenant_id=tenant.pk, plan=tenant.plan)


def tenant_get(*, slug: str, primary: bool = False) -> Tenant | None:
    """Return the live (not deleted) tenant with `slug` (from the primary when a write follows)."""
    tenants = Tenant.objects.using(CONTROL_ALIAS) if primary else Tenant.objects
    return tenants.filter(LIVE, slug=slug).first()


def tenant_for_resolution(*, slug: str, primary: bool = False) -> Tenant | None:
    """Return the live tenant `slug` with `domain_names` (its custom domains), in one query."""
    no_domains = Value([], output_field=ArrayField(CharField()))
    tenants = Tenant.objects.using(CONTROL_ALIAS) if primary else Tenant.objects
    return (tenants.filter(LIVE, slug=slug)
            .annotate(domain_names=ArrayAgg("domains__domain", filter=Q(domains__isnull=False), default=no_domains))
            .first())


def tenant_with_domains(*, pk: int) -> Tenant:
    """Return tenant `pk` with its domains, from the primary (the answer to a write that just changed it)."""
    return Tenant.objects.using(CONTROL_ALIAS).prefetch_related("domains").get(pk=pk)


def server_list() -> QuerySet[DatabaseServer]:
    return DatabaseServer.objects.using(CONTROL_ALIAS).order_by("name")


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.filter(LIVE).prefetch_related("domains").order_by("slug")


def tenant_list_all() -> QuerySet[Tenant]:
    """Return every tenant, deleted ones included (the platform list filters them: audit and support).

    Read on the primary, like the admin: an operator lists what is, not what a replica replayed.
    """
    return Tenant.objects.using(CONTROL_ALIAS).prefetch_related("domains")


def tenant_slug_for_domain(*, domain: str) -> str | None:
    return (Tenant.objects.filter(LIVE, domains__domain=domain)
            .values_list("slug", flat=True).first())


def server_loads() -> dict[str, int]:
    """Return live tenant counts per configured server."""
    rows = servers_with_counts().filter(configured=True)
    return {row.name: row.live for row in rows}  # type: ignore[attr-defined]  # annotated


def servers_with_counts() -> QuerySet[DatabaseServer]:
    """Return every server with its live tenant count as `live` (one query)."""
    return DatabaseServer.objects.annotate(live=Count("tenants", filter=~Q(tenants__status=TenantStatus.DELETED)))


def replica_lags(*, server: str, replicas: int) -> list[float | None]:
    """Return each replica's replay lag in seconds (None: unknown, failed or cut off from its primary)."""
    lags: list[float | None] = []
    for index in range(replicas):
        status = replica_probe(server, index)
        lags.append(None if status is None or not math.isfinite(status.lag_seconds) else round(status.lag_seconds, 3))
    return lags


def placement_candidates() -> QuerySet[DatabaseServer]:
    """Servers open to new tenants, least loaded first.

    Read on the primary: a placement decides a write, and a replica may not
    have seen a server synced or a tenant placed a moment ago.
    """
    return (DatabaseServer.objects.using(CONTROL_ALIAS).filter(configured=True, accepts_tenants=True)
            .annotate(live=Count("tenants", filter=~Q(tenants__status=TenantStatus.DELETED)))
            .order_by("live", "name"))


def stalled_jobs(*, heartbeat_before: datetime) -> QuerySet[ProvisioningJob]:
    """Jobs that should be making progress but have not reported in time."""
    running = Q(status=JobStatus.RUNNING, heartbeat_at__lt=heartbeat_before)
    never_started = Q(status=JobStatus.PENDING, queued_at__lt=heartbeat_before)
    return (ProvisioningJob.objects.filter(running | never_started).exclude(kind__in=DATA_JOB_KINDS)
            .select_related("tenant"))


def latest_job(*, tenant: Tenant) -> ProvisioningJob | None:
    return tenant.jobs.order_by("-created_at").first()


def backups_of(*, tenant: Tenant) -> QuerySet[Backup]:
    """Return the tenant's backups, newest first (primary: a backup just requested must be listed)."""
    return Backup.objects.using(CONTROL_ALIAS).filter(tenant=tenant).select_related("job")


def backup_of(*, tenant: Tenant, backup_id: int) -> Backup | None:
    """Return backup `backup_id` if it belongs to `tenant` (another tenant's backup is simply not found)."""
    return backups_of(tenant=tenant).filter(pk=backup_id).first()


def jobs_of(*, tenant: Tenant) -> QuerySet[ProvisioningJob]:
    """Return the tenant's jobs, newest first, on the primary."""
    return ProvisioningJob.objects.using(CONTROL_ALIAS).filter(tenant=tenant).order_by("-created_at", "-pk")


def job_get(*, pk: int) -> ProvisioningJob | None:
    """Return job `pk` with its tenant, read on the primary."""
    return ProvisioningJob.objects.using(CONTROL_ALIAS).select_related("tenant").filter(pk=pk).first()

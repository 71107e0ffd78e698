"""Reads of the control plane."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from routers.spec import TenantSpec
from tenants.models import DatabaseServer, JobStatus, ProvisioningJob, Tenant, TenantStatus

CONTROL = "default"
LIVE = ~Q(status=TenantStatus.DELETED)


def tenant_spec(tenant: Tenant) -> TenantSpec:
    return TenantSpec(tenant.slug, tenant.server_id, tenant.database, tenant_id=tenant.pk)


def tenant_get(*, slug: str, primary: bool = False) -> Tenant | None:
    """Return the live (not deleted) tenant with `slug` (from the primary when a write follows)."""
    tenants = Tenant.objects.using(CONTROL) if primary else Tenant.objects
    return tenants.filter(LIVE, slug=slug).first()


def tenant_list() -> QuerySet[Tenant]:
    return Tenant.objects.filter(LIVE).prefetch_related("domains").order_by("slug")


def tenant_slug_for_domain(*, domain: str) -> str | None:
    return (Tenant.objects.filter(LIVE, domains__domain=domain)
            .values_list("slug", flat=True).first())


def server_loads() -> dict[str, int]:
    """Return live tenant counts per configured server."""
    rows = DatabaseServer.objects.filter(configured=True).annotate(
        live=Count("tenants", filter=~Q(tenants__status=TenantStatus.DELETED)))
    return {row.name: row.live for row in rows}


def placement_candidates() -> QuerySet[DatabaseServer]:
    """Servers open to new tenants, least loaded first.

    Read on the primary: a placement decides a write, and a replica may not
    have seen a server synced or a tenant placed a moment ago.
    """
    return (DatabaseServer.objects.using(CONTROL).filter(configured=True, accepts_tenants=True)
            .annotate(live=Count("tenants", filter=~Q(tenants__status=TenantStatus.DELETED)))
            .order_by("live", "name"))


def stalled_jobs(*, heartbeat_before: datetime) -> QuerySet[ProvisioningJob]:
    """Jobs that should be making progress but have not reported in time."""
    running = Q(status=JobStatus.RUNNING, heartbeat_at__lt=heartbeat_before)
    never_started = Q(status=JobStatus.PENDING, queued_at__lt=heartbeat_before)
    return ProvisioningJob.objects.filter(running | never_started).select_related("tenant")


def latest_job(*, tenant: Tenant) -> ProvisioningJob | None:
    return tenant.jobs.order_by("-created_at").first()

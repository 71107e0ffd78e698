"""Writes to the control plane: the platform admin's verbs on tenants.

Every function is keyword-only and named `<entity>_<action>`. Long work
(provisioning, deletion) is queued as a Celery task once the control-plane
transaction commits; the task runs `tenants.provisioning`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.dbservers import configured_servers
from core.errors import ApiError, Conflict
from routers.spec import database_name_for
from tenants import resolution, selectors
from tenants.models import (
    DatabaseServer,
    Domain,
    JobKind,
    JobStatus,
    Plan,
    ProvisioningJob,
    Tenant,
    TenantStatus,
)
from tenants.validation import domain_problem, slug_problem

CONTROL = "default"


class InvalidInput(ApiError):
    status_code = 400
    code = "validation_error"


class InvalidState(ApiError):
    status_code = 409
    code = "invalid_state"


def servers_sync() -> list[DatabaseServer]:
    """Mirror TENANT_DB_SERVERS into DatabaseServer rows (idempotent)."""
    configured = configured_servers()
    rows = []
    for name, server in configured.items():
        row, _ = DatabaseServer.objects.update_or_create(
            name=name,
            defaults={"host": server.primary.host, "port": server.primary.port,
                      "replicas": len(server.replicas), "pooled": server.pooler is not None,
                      "configured": True},
        )
        rows.append(row)
    DatabaseServer.objects.exclude(name__in=configured).update(configured=False)
    return rows


def tenant_create(*, slug: str, name: str, admin_email: str, admin_password: str | None = None,
                  server: str | None = None, plan: str = Plan.FREE) -> tuple[Tenant, str | None]:
    """Record a new tenant and queue its provisioning; return it and any generated password."""
    _validate_new_tenant(slug=slug, name=name, plan=plan)
    servers_sync()
    placed = _place(server)
    generated = None if admin_password else secrets.token_urlsafe(12)
    database = database_name_for(slug, settings.TENANT_DB_NAME_PREFIX)
    try:
        with transaction.atomic(using=CONTROL):
            tenant = Tenant.objects.create(
                slug=slug, name=name, plan=plan, server=placed, database=database, admin_email=admin_email)
            job = ProvisioningJob.objects.create(
                tenant=tenant, payload={"password_hash": make_password(admin_password or generated)})
            transaction.on_commit(lambda: _enqueue(job), using=CONTROL)
    except IntegrityError:
        raise Conflict(f"A tenant with slug '{slug}' already exists.", code="tenant_exists") from None
    return tenant, generated


def _validate_new_tenant(*, slug: str, name: str, plan: str) -> None:
    problems = {}
    if problem := slug_problem(slug):
        problems["slug"] = [problem]
    if not isinstance(name, str) or not name.strip():
        problems["name"] = ["This field is required."]
    if plan not in Plan.values:
        problems["plan"] = [f"one of {', '.join(Plan.values)}."]
    if problems:
        field, messages = next(iter(problems.items()))
        raise InvalidInput(f"{field}: {messages[0]}", fields=problems)


def _place(requested: str | None) -> DatabaseServer:
    """Return the requested server, or the least loaded one that accepts tenants."""
    candidates = selectors.placement_candidates()
    if requested:
        chosen = candidates.filter(name=requested).first()
        if chosen is None:
            raise InvalidInput(f"server: unknown or closed server '{requested}'.")
        return chosen
    chosen = candidates.first()
    if chosen is None:
        raise ApiError("No database server accepts new tenants.", code="no_capacity", status_code=503)
    return chosen


def _enqueue(job: ProvisioningJob) -> None:
    from tenants.tasks import delete_tenant, provision_tenant

    task = provision_tenant if job.kind == JobKind.PROVISION else delete_tenant
    task.delay(job.pk)


def _tenant_or_404(slug: str) -> Tenant:
    tenant = selectors.tenant_get(slug=slug)
    if tenant is None:
        raise ApiError("Tenant not found.", code="not_found", status_code=404)
    return tenant


def _set_status(tenant: Tenant, status: str, *, allowed: set[str], **fields: object) -> Tenant:
    """Move `tenant` to `status` from one of `allowed`, atomically (compare-and-set)."""
    updated = Tenant.objects.filter(pk=tenant.pk, status__in=allowed).update(
        status=status, updated_at=timezone.now(), **fields)
    if not updated:
        tenant.refresh_from_db(using=CONTROL)
        raise InvalidState(f"Tenant '{tenant.slug}' is {tenant.status}; cannot become {status}.")
    resolution.invalidate()
    tenant.refresh_from_db(using=CONTROL)
    return tenant


def tenant_suspend(*, slug: str) -> Tenant:
    return _set_status(_tenant_or_404(slug), TenantStatus.SUSPENDED, allowed={TenantStatus.ACTIVE})


def tenant_resume(*, slug: str) -> Tenant:
    return _set_status(_tenant_or_404(slug), TenantStatus.ACTIVE, allowed={TenantStatus.SUSPENDED})


def tenant_retry(*, slug: str) -> Tenant:
    """Resume a failed provisioning from the last step it finished."""
    tenant = _tenant_or_404(slug)
    job = selectors.latest_job(tenant=tenant)
    if job is None or job.kind != JobKind.PROVISION:
        raise InvalidState(f"Tenant '{slug}' has no provisioning to retry.")
    with transaction.atomic(using=CONTROL):
        tenant = _set_status(tenant, TenantStatus.PROVISIONING, allowed={TenantStatus.FAILED}, error="")
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.PENDING, error="", finished_at=None, heartbeat_at=None, attempts=0,
            queued_at=timezone.now())
        transaction.on_commit(lambda: _enqueue(job), using=CONTROL)
    return tenant


def tenant_delete(*, slug: str) -> Tenant:
    """Mark the tenant deleting and queue dropping its database."""
    tenant = _tenant_or_404(slug)
    allowed = {TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.FAILED, TenantStatus.DELETING}
    with transaction.atomic(using=CONTROL):
        tenant = _set_status(tenant, TenantStatus.DELETING, allowed=allowed)
        job = ProvisioningJob.objects.create(tenant=tenant, kind=JobKind.DELETE)
        transaction.on_commit(lambda: _enqueue(job), using=CONTROL)
    return tenant


def domain_add(*, slug: str, domain: str) -> Domain:
    tenant = _tenant_or_404(slug)
    domain = (domain or "").strip().lower() if isinstance(domain, str) else domain
    if problem := domain_problem(domain):
        raise InvalidInput(f"domain: {problem}", fields={"domain": [problem]})
    if domain == settings.TENANT_BASE_DOMAIN or domain.endswith("." + settings.TENANT_BASE_DOMAIN):
        raise InvalidInput("domain: subdomains of the base domain are implicit.")
    try:
        with transaction.atomic(using=CONTROL):
            row = Domain.objects.create(tenant=tenant, domain=domain)
    except IntegrityError:
        raise Conflict(f"Domain '{domain}' is already in use.", code="domain_exists") from None
    resolution.invalidate()
    return row


def domain_remove(*, slug: str, domain: str) -> None:
    tenant = _tenant_or_404(slug)
    deleted, _ = Domain.objects.filter(tenant=tenant, domain=domain.lower()).delete()
    if not deleted:
        raise ApiError("Domain not found.", code="not_found", status_code=404)
    resolution.invalidate()


def provisioning_watchdog() -> dict[str, int]:
    """Requeue or fail jobs that stopped making progress (e.g. their worker died)."""
    from tenants import provisioning

    cutoff = timezone.now() - timedelta(seconds=settings.PROVISIONING_STALL_SECONDS)
    counts = {"requeued": 0, "failed": 0}
    for job in selectors.stalled_jobs(heartbeat_before=cutoff):
        if job.attempts >= settings.PROVISIONING_MAX_ATTEMPTS:
            provisioning.job_fail(job=job, error="no progress: the job stalled on every attempt")
            counts["failed"] += 1
        elif provisioning.job_requeue(job=job):
            _enqueue(job)
            counts["requeued"] += 1
    return counts

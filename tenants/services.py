"""Writes to the control plane: the platform admin's verbs on tenants.

Every function is keyword-only and named `<entity>_<action>`. Long work
(provisioning, deletion) is queued as a Celery task once the control-plane
transaction commits; the task runs `tenants.provisioning`. If the broker
refuses the task, what was committed is undone and `QueueUnavailable` (503)
is raised, so nothing is left half-created. Call these outside a transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from core.errors import Conflict, InvalidInput, NotFound
from core.queue import enqueue_or_fail
from routers import database_name_for
from tenants import dbops, limits, moving, operations, resolution, selectors
from tenants.audit import SYSTEM_ACTOR, audit_record, audited
from tenants.errors import InvalidState, NoCapacity, TenantErrorCode
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
from tenants.validation import (
    custom_domain_problem,
    normalize_domain,
    normalize_origin,
    origin_problem,
    slug_problem,
)

CORS_ORIGINS_MAX = 50
logger = logging.getLogger("tessera.provisioning")


def servers_sync() -> list[DatabaseServer]:
    """Mirror TENANT_DB_SERVERS into DatabaseServer rows (idempotent; run at migrate and worker start)."""
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


def server_update(*, name: str, accepts_tenants: bool) -> None:
    """Open or close a server to new tenants (the only field not mirrored from the environment)."""
    DatabaseServer.objects.filter(name=name).update(accepts_tenants=accepts_tenants)


@audited("tenant.create")
def tenant_create(*, slug: str, name: str, admin_email: str, admin_password: str | None = None,
                  server: str | None = None, plan: str = Plan.FREE,
                  enqueue: bool = True, actor: str = SYSTEM_ACTOR) -> tuple[Tenant, str | None]:
    """Record a new tenant and queue its provisioning; return it and any generated password.

    With `enqueue=False` nothing is queued: the caller runs the job itself
    (`provisioning.job_run`), as `manage.py create_tenant` does.
    """
    _raise_problems({**_slug_problems(slug), **_profile_problems(name=name, plan=plan),
                     **_email_problems(admin_email)})
    placed = _place(server)
    generated = None if admin_password else secrets.token_urlsafe(12)
    database = database_name_for(slug, settings.TENANT_DB_NAME_PREFIX)
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            tenant = Tenant.objects.create(
                slug=slug, name=name, plan=plan, server=placed, database=database, admin_email=admin_email)
            job = ProvisioningJob.objects.create(
                tenant=tenant, payload={"password_hash": make_password(admin_password or generated)})
            audit_record(actor=actor, action="tenant.create", target=tenant, params={
                "name": name, "admin_email": admin_email, "server": placed.name, "plan": plan})
    except IntegrityError:
        raise Conflict(f"A tenant with slug '{slug}' already exists.", code=TenantErrorCode.TENANT_EXISTS) from None
    resolution.invalidate()  # drop any "no such tenant" answer cached for this slug
    if enqueue:
        _enqueue_or_undo(job, undo=lambda: Tenant.objects.filter(
            pk=tenant.pk, status=TenantStatus.PROVISIONING).delete())
    return tenant, generated


@audited("tenant.update")
def tenant_update(*, slug: str, name: str, plan: str, actor: str = SYSTEM_ACTOR) -> Tenant:
    """Change a tenant's display name and plan (only those columns: status belongs to provisioning).

    A new plan applies at once: the database's limits and the poolers' pool
    sizes are set (`tenants.limits`), and every process drops its resolution
    cache, so the next request carries the new plan in its spec (rates, quotas).
    A tenant whose database does not exist yet (provisioning) gets the plan's
    limits when it is created.
    """
    tenant = _tenant_or_404(slug)
    _raise_problems(_profile_problems(name=name, plan=plan))
    with transaction.atomic(using=CONTROL_ALIAS):
        Tenant.objects.filter(pk=tenant.pk).update(name=name, plan=plan, updated_at=timezone.now())
        audit_record(actor=actor, action="tenant.update", target=tenant, params={"name": name, "plan": plan})
    if plan != tenant.plan:
        if dbops.database_exists(tenant.server_id, tenant.database):
            limits.tenant_limits_apply(server=tenant.server_id, database=tenant.database, plan=plan)
        resolution.invalidate()
    tenant.refresh_from_db(using=CONTROL_ALIAS)
    return tenant


def _slug_problems(slug: str) -> dict[str, list[str]]:
    problem = slug_problem(slug)
    return {"slug": [problem]} if problem else {}


def _profile_problems(*, name: str, plan: str) -> dict[str, list[str]]:
    problems = {}
    if not isinstance(name, str) or not name.strip():
        problems["name"] = ["This field is required."]
    if plan not in Plan.values:
        problems["plan"] = [f"one of {', '.join(Plan.values)}."]
    return problems


def _email_problems(email: str) -> dict[str, list[str]]:
    try:
        validate_email(email)
    except ValidationError:
        return {"admin_email": ["Enter a valid email address."]}
    return {}


def _raise_problems(problems: dict[str, list[str]]) -> None:
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
        raise NoCapacity()
    return chosen


JOB_TASKS = {JobKind.PROVISION: "tenants.provision_tenant", JobKind.MOVE: "tenants.move_tenant"}


def job_enqueue(*, job: ProvisioningJob, undo: Callable[[], object] | None = None) -> None:
    """Queue the task that runs `job`; if the broker refuses it, run `undo` and raise QueueUnavailable."""
    # By name: tenants.tasks imports this module, not the reverse. The tasks run `provisioning.job_run`.
    task = JOB_TASKS.get(JobKind(job.kind), "tenants.delete_tenant")
    enqueue_or_fail(task, job.pk, undo=undo)


def _enqueue_or_undo(job: ProvisioningJob, *, undo: Callable[[], object]) -> None:
    """Queue `job`; if the broker refuses it, run `undo` (one transaction) and raise QueueUnavailable."""

    def undo_all() -> None:
        with transaction.atomic(using=CONTROL_ALIAS):
            undo()
        resolution.invalidate()

    job_enqueue(job=job, undo=undo_all)


def _tenant_or_404(slug: str) -> Tenant:
    tenant = selectors.tenant_get(slug=slug, primary=True)  # the write that follows must see it
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def _set_status(tenant: Tenant, status: str, *, allowed: set[TenantStatus], **fields: object) -> Tenant:
    """Move `tenant` to `status` from one of `allowed`, atomically (compare-and-set)."""
    updated = Tenant.objects.filter(pk=tenant.pk, status__in=allowed).update(
        status=status, updated_at=timezone.now(), **fields)
    if not updated:
        tenant.refresh_from_db(using=CONTROL_ALIAS)
        raise InvalidState(f"Tenant '{tenant.slug}' is {tenant.status}; cannot become {status}.")
    resolution.invalidate()
    tenant.refresh_from_db(using=CONTROL_ALIAS)
    return tenant


def _audited_status(slug: str, status: str, *, allowed: set[TenantStatus], actor: str, action: str) -> Tenant:
    """Move the tenant to `status` and record `action` in the same transaction."""
    tenant = _tenant_or_404(slug)
    with transaction.atomic(using=CONTROL_ALIAS):
        tenant = _set_status(tenant, status, allowed=allowed)
        audit_record(actor=actor, action=action, target=tenant)
    return tenant


@audited("tenant.suspend")
def tenant_suspend(*, slug: str, actor: str = SYSTEM_ACTOR) -> Tenant:
    return _audited_status(slug, TenantStatus.SUSPENDED, allowed={TenantStatus.ACTIVE}, actor=actor,
                           action="tenant.suspend")


@audited("tenant.resume")
def tenant_resume(*, slug: str, actor: str = SYSTEM_ACTOR) -> Tenant:
    return _audited_status(slug, TenantStatus.ACTIVE, allowed={TenantStatus.SUSPENDED}, actor=actor,
                           action="tenant.resume")


@audited("tenant.retry")
def tenant_retry(*, slug: str, actor: str = SYSTEM_ACTOR) -> Tenant:
    """Resume a failed provisioning, or a failed deletion, from the last step it finished."""
    tenant = _tenant_or_404(slug)
    job = selectors.latest_job(tenant=tenant)
    if job is not None and job.kind == JobKind.DELETE:
        return _deletion_retry(tenant, job, actor=actor)
    if job is None or job.kind != JobKind.PROVISION:
        raise InvalidState(f"Tenant '{slug}' has no provisioning to retry.")
    failed_error = tenant.error
    with transaction.atomic(using=CONTROL_ALIAS):
        tenant = _set_status(tenant, TenantStatus.PROVISIONING, allowed={TenantStatus.FAILED}, error="")
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status=JobStatus.PENDING, error="", finished_at=None, heartbeat_at=None, attempts=0,
            queued_at=timezone.now())
        audit_record(actor=actor, action="tenant.retry", target=tenant, params={"job": job.pk, "kind": job.kind})

    def undo() -> None:
        Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.PROVISIONING).update(
            status=TenantStatus.FAILED, error=failed_error)
        ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=job.status, error=job.error, finished_at=job.finished_at, attempts=job.attempts)

    _enqueue_or_undo(job, undo=undo)
    return tenant


def _deletion_retry(tenant: Tenant, job: ProvisioningJob, *, actor: str) -> Tenant:
    """Queue a failed deletion again (the tenant stays `deleting`; one delete job per tenant)."""
    with transaction.atomic(using=CONTROL_ALIAS):
        reset = ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
            status=JobStatus.PENDING, finished_at=None, heartbeat_at=None, attempts=0, queued_at=timezone.now())
        if not reset or tenant.status != TenantStatus.DELETING:
            raise InvalidState(f"Tenant '{tenant.slug}' has no failed deletion to retry.")
        audit_record(actor=actor, action="tenant.retry", target=tenant, params={"job": job.pk, "kind": job.kind})

    def undo() -> None:
        ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.FAILED, finished_at=job.finished_at, attempts=job.attempts)

    _enqueue_or_undo(job, undo=undo)
    return tenant


@audited("tenant.delete")
def tenant_delete(*, slug: str, requested_by: str = "", actor: str = SYSTEM_ACTOR) -> Tenant:
    """Mark the tenant deleting and queue dropping its database.

    One deletion per tenant: the compare-and-set on the status lets exactly one
    of concurrent calls through; a tenant already `deleting` answers 409 and
    nothing is queued (`retry` resumes a deletion that failed). A move or
    restore in progress, or a fleet migration run, answers 409
    `operation_in_progress` (tenants.operations).
    """
    if selectors.tenant_get(slug=slug, primary=True) is None and Tenant.objects.using(CONTROL_ALIAS).filter(
            slug=slug, status=TenantStatus.DELETED).exists():
        raise InvalidState(f"Tenant '{slug}' is deleted; cannot become deleting.")
    tenant = _tenant_or_404(slug)
    allowed = {TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.FAILED}
    before = tenant.status
    with transaction.atomic(using=CONTROL_ALIAS):
        tenant = _set_status(tenant, TenantStatus.DELETING, allowed=allowed)
        job = operations.exclusive_job_create(tenant=tenant, kind=JobKind.DELETE,
                                              requested_by=requested_by or actor)
        audit_record(actor=actor, action="tenant.delete", target=tenant, params={"job": job.pk, "was": before})

    def undo() -> None:
        ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).delete()
        Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.DELETING).update(status=before)

    _enqueue_or_undo(job, undo=undo)
    return tenant


@audited("tenant.move")
def tenant_move(*, slug: str, server: str, requested_by: str, enqueue: bool = True) -> ProvisioningJob:
    """Queue a live move of an active tenant to another server; return the job (tenants.moving).

    Refused, with nothing changed: an unknown, unconfigured or closed server,
    the tenant's own server (400), a tenant that is not active (409
    `invalid_state`), a move, restore or delete already open, or a fleet
    migration run (409 `operation_in_progress`).
    """
    tenant = _tenant_or_404(slug)
    target = selectors.placement_candidates().filter(name=server).first() if isinstance(server, str) else None
    if target is None:
        raise InvalidInput(f"server: unknown or closed server '{server}'.",
                           fields={"server": ["unknown or closed server."]})
    if target.name == tenant.server_id:
        raise InvalidInput(f"server: tenant '{slug}' is on server '{server}' already.",
                           fields={"server": ["the tenant is on this server already."]})
    if tenant.status != TenantStatus.ACTIVE:
        raise InvalidState(f"Tenant '{slug}' is {tenant.status}; only an active tenant can move.")
    with transaction.atomic(using=CONTROL_ALIAS):
        job = operations.exclusive_job_create(tenant=tenant, kind=JobKind.MOVE, requested_by=requested_by)
        job.payload = moving.move_plan(tenant=tenant, server=target.name, job_id=job.pk)
        job.save(update_fields=["payload"])
        audit_record(actor=requested_by, action="tenant.move", target=tenant,
                     params={"job": job.pk, "from": tenant.server_id, "server": target.name})
    if enqueue:
        job_enqueue(job=job, undo=lambda: ProvisioningJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).delete())
    return job


@audited("domain.add")
def domain_add(*, slug: str, domain: str, actor: str = SYSTEM_ACTOR) -> Domain:
    """Attach custom domain `domain` to the tenant and invalidate every process's resolution cache."""
    tenant = _tenant_or_404(slug)
    domain = normalize_domain(domain)  # type: ignore[assignment]
    if problem := custom_domain_problem(domain):
        raise InvalidInput(f"domain: {problem}", fields={"domain": [problem]})
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            row = Domain.objects.create(tenant=tenant, domain=domain)
            audit_record(actor=actor, action="domain.add", target=tenant, params={"domain": domain})
    except IntegrityError:
        raise Conflict(f"Domain '{domain}' is already in use.", code=TenantErrorCode.DOMAIN_EXISTS) from None
    resolution.invalidate()
    return row


@audited("domain.remove")
def domain_remove(*, slug: str, domain: str, actor: str = SYSTEM_ACTOR) -> None:
    """Detach a custom domain from the tenant and invalidate every process's resolution cache."""
    tenant = _tenant_or_404(slug)
    with transaction.atomic(using=CONTROL_ALIAS):
        deleted, _ = Domain.objects.filter(tenant=tenant, domain=domain.lower()).delete()
        if not deleted:
            raise NotFound("Domain not found.")
        audit_record(actor=actor, action="domain.remove", target=tenant, params={"domain": domain.lower()})
    resolution.invalidate()


@audited("tenant.cors_set")
def tenant_cors_set(*, slug: str, origins: list[str], actor: str = SYSTEM_ACTOR) -> Tenant:
    """Replace the extra browser origins of the tenant's API and invalidate every process's cache.

    All or nothing: one bad origin refuses the whole list.
    """
    tenant = _tenant_or_404(slug)
    if not isinstance(origins, list) or len(origins) > CORS_ORIGINS_MAX:
        raise InvalidInput(f"origins: a list of at most {CORS_ORIGINS_MAX} origins.",
                           fields={"origins": [f"a list of at most {CORS_ORIGINS_MAX} origins."]})
    cleaned = [normalize_origin(origin) for origin in origins]
    problems = [f"{origin!r}: {problem}" for origin in cleaned if (problem := origin_problem(origin))]
    if problems:
        raise InvalidInput(f"origins: {problems[0]}", fields={"origins": problems})
    unique = sorted({str(origin) for origin in cleaned})
    with transaction.atomic(using=CONTROL_ALIAS):
        Tenant.objects.filter(pk=tenant.pk).update(cors_origins=unique, updated_at=timezone.now())
        audit_record(actor=actor, action="tenant.cors_set", target=tenant, params={"origins": unique})
    resolution.invalidate()
    tenant.refresh_from_db(using=CONTROL_ALIAS)
    return tenant


def tenant_reserve(*, slug: str, name: str, admin_email: str, plan: str, server: str | None = None) -> Tenant:
    """Validate and record a new tenant (`provisioning`, no job) for a restore or clone to fill.

    Same checks and answers as `tenant_create`: a bad slug 400, a taken one 409 `tenant_exists`.
    """
    _raise_problems({**_slug_problems(slug), **_profile_problems(name=name, plan=plan)})
    placed = _place(server)
    try:
        with transaction.atomic(using=CONTROL_ALIAS):
            tenant = Tenant.objects.create(slug=slug, name=name, plan=plan, server=placed, admin_email=admin_email,
                                           database=database_name_for(slug, settings.TENANT_DB_NAME_PREFIX))
    except IntegrityError:
        raise Conflict(f"A tenant with slug '{slug}' already exists.", code=TenantErrorCode.TENANT_EXISTS) from None
    return tenant

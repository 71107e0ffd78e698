"""Celery tasks: a base class that carries the tenant, and the provisioning tasks.

`TenantTask` puts the current tenant's slug and the read-after token (the WAL
positions this unit of work wrote) in the task headers when the task is
queued, and restores both in the worker around the task body: the worker
registers the tenant's aliases on first use (workers start without them). A
tenant task queued with no tenant in context, or for a tenant that is not
active any more, fails closed.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from core.errors import ApiError
from routers import consistency, current_tenant_or_none, tenant_context
from tenants import provisioning, resolution, services

TENANT_HEADER = "tessera_tenant"
READ_AFTER_HEADER = "tessera_read_after"


class TenantUnavailable(ApiError):
    status_code = 409
    code = "tenant_unavailable"


class TenantTask(Task):
    """Base class for tasks that run inside one tenant's context."""

    abstract = True

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        spec = current_tenant_or_none()
        if spec is None:
            raise TenantUnavailable(f"{self.name} is a tenant task: queue it inside tenant_context().")
        headers = dict(options.pop("headers", None) or {})
        headers[TENANT_HEADER] = spec.slug
        token = consistency.capture_current() or consistency.current_token()
        if token:
            headers[READ_AFTER_HEADER] = token
        return super().apply_async(args, kwargs, headers=headers, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        slug = _header(self.request, TENANT_HEADER)
        if not slug:
            raise TenantUnavailable(f"{self.name} arrived without a tenant header")
        resolved = resolution.lookup(slug)
        if resolved is None or resolved.status != "active":
            raise TenantUnavailable(f"tenant {slug!r} is not active")
        with consistency.read_scope(_header(self.request, READ_AFTER_HEADER)), tenant_context(resolved.spec):
            return super().__call__(*args, **kwargs)


def _header(request: Any, name: str) -> str | None:
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


@shared_task(name="tenants.provision_tenant", acks_late=True)
def provision_tenant(job_id: int) -> str:
    return provisioning.job_run(job_id=job_id)


@shared_task(name="tenants.delete_tenant", acks_late=True)
def delete_tenant(job_id: int) -> str:
    return provisioning.job_run(job_id=job_id)


@shared_task(name="tenants.provisioning_watchdog")
def provisioning_watchdog() -> dict[str, int]:
    return services.provisioning_watchdog()

"""A Celery base class that carries the tenant (and read-after token) into workers.

`TenantTask.apply_async` puts the current tenant's slug and the WAL positions
this unit of work wrote in the task headers; in the worker, `__call__` looks
the slug up through `settings.TENANT_SPEC_RESOLVER` (a dotted path to a
function `slug -> TenantSpec | None` that answers only for tenants that may
run work; the tenants app provides it), and runs the task body inside
`read_scope(token)` and `tenant_context(spec)`. Aliases are registered in the
worker on first use. The request id rides along too, so the worker's log lines
name the request that queued the work (or the task id when none did). A tenant
task queued with no tenant in context, or for a tenant that may not run work
any more, fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task
from django.conf import settings
from django.utils.module_loading import import_string

from core.logging import request_id_var
from routers import consistency
from routers.context import current_tenant_or_none, tenant_context
from routers.exceptions import TenantContextMissing, TenantUnavailableForTask
from routers.runtime import runtime
from routers.spec import TenantSpec

TENANT_HEADER = "tessera_tenant"
READ_AFTER_HEADER = "tessera_read_after"
REQUEST_ID_HEADER = "tessera_request_id"


def _resolver() -> Callable[[str], TenantSpec | None]:
    resolver: Callable[[str], TenantSpec | None] = import_string(settings.TENANT_SPEC_RESOLVER)
    return resolver


class TenantTask(Task):
    """Base class for tasks that run inside one tenant's context."""

    abstract = True

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        spec = current_tenant_or_none()
        if spec is None:
            raise TenantContextMissing(f"task {self.name} (queue it inside tenant_context())")
        headers = dict(options.pop("headers", None) or {})
        headers[TENANT_HEADER] = spec.slug
        token = consistency.capture_current(runtime.server_of) or consistency.current_token()
        if token:
            headers[READ_AFTER_HEADER] = token
        if (request_id := request_id_var.get()) != "-":
            headers[REQUEST_ID_HEADER] = request_id
        return super().apply_async(args, kwargs, headers=headers, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        slug = _header(self.request, TENANT_HEADER)
        spec = _resolver()(slug) if slug else None
        if spec is None:
            raise TenantUnavailableForTask(task=self.name, slug=slug)
        request_id = request_id_var.set(_header(self.request, REQUEST_ID_HEADER) or self.request.id or "-")
        try:
            with consistency.read_scope(_header(self.request, READ_AFTER_HEADER)), tenant_context(spec):
                return super().__call__(*args, **kwargs)
        finally:
            request_id_var.reset(request_id)


def _header(request: Any, name: str) -> str | None:
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value

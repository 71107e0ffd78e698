"""Queue a tenant task once for every active tenant (periodic per-tenant work, e.g. the export watchdog).

Celery beat runs `tenants.tenant_fanout` with a task name; this module sends
that task inside each active tenant's context, so the task runs there like any
other tenant task. It goes by name: `tenants` never imports the product.
Suspended tenants are skipped: their tasks would be refused, and their turn
comes once they are resumed.
"""

from __future__ import annotations

import logging

from celery import current_app

from core.queue import QueueUnavailable, enqueue_or_fail
from routers import tenant_context
from tenants import selectors
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger("tessera.tasks")


def tenants_fanout(*, task: str) -> int:
    """Queue `task` (a registered tenant task's name) once per active tenant; return how many were queued."""
    queued = 0
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).only("pk", "slug", "server", "database"):
        with tenant_context(selectors.tenant_spec(tenant)):
            try:
                enqueue_or_fail(current_app.tasks[task])
            except QueueUnavailable:  # the next beat tries again
                logger.warning("could not queue %s for tenant %s", task, tenant.slug)
                continue
        queued += 1
    return queued

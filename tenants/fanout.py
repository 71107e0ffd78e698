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
from django.db import DatabaseError

from core.queue import QueueUnavailable, enqueue_or_fail
from routers import read_scope, tenant_context
from tenants import selectors
from tenants.models import Tenant, TenantStatus

logger = logging.getLogger("tessera.tasks")


def tenants_fanout(*, task: str) -> int:
    """Queue `task` (a registered tenant task's name) once per active tenant; return how many were queued."""
    queued = 0
    for tenant in Tenant.objects.filter(status=TenantStatus.ACTIVE).only("pk", "slug", "server", "database"):
        # A fresh read scope: the fan-out wrote nothing, so the task needs no read-after position
        # (and must not inherit one from whatever this worker process ran before).
        with read_scope(), tenant_context(selectors.tenant_spec(tenant)):
            try:
                enqueue_or_fail(current_app.tasks[task])
            except (QueueUnavailable, DatabaseError):  # one tenant never stops the others; the next beat retries
                logger.warning("could not queue %s for tenant %s", task, tenant.slug, exc_info=True)
                continue
        queued += 1
    return queued

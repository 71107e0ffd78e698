"""Celery tasks of the product (thin: they call services, inside the tenant)."""

from __future__ import annotations

from celery import shared_task

from projects import services, watchdog
from routers import TenantTask


@shared_task(base=TenantTask, name="projects.run_export", acks_late=True)
def run_export(export_id: int) -> int:
    return services.export_run(export_id=export_id).rows_done


# Queued for every active tenant by `tenants.tenant_fanout` (Celery beat, EXPORT_WATCHDOG_SECONDS).
@shared_task(base=TenantTask, name="projects.export_watchdog")
def export_watchdog() -> dict[str, int]:
    return watchdog.export_watchdog()

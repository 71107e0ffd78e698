"""Celery tasks of the control plane (thin: they call services)."""

from __future__ import annotations

from celery import shared_task

from tenants import backups, datajobs, fanout, provisioning, retired, usage, watchdog


@shared_task(name="tenants.provision_tenant", acks_late=True)
def provision_tenant(job_id: int) -> str:
    return provisioning.job_run(job_id=job_id)


@shared_task(name="tenants.delete_tenant", acks_late=True)
def delete_tenant(job_id: int) -> str:
    return provisioning.job_run(job_id=job_id)


@shared_task(name="tenants.move_tenant", acks_late=True)
def move_tenant(job_id: int) -> str:
    return provisioning.job_run(job_id=job_id)


@shared_task(name="tenants.tenant_fanout")
def tenant_fanout(task: str) -> int:
    return fanout.tenants_fanout(task=task)


@shared_task(name="tenants.provisioning_watchdog")
def provisioning_watchdog() -> dict[str, int]:
    return watchdog.provisioning_watchdog()


@shared_task(name="tenants.retired_databases_sweep")
def retired_databases_sweep() -> int:
    return retired.retired_databases_sweep()


@shared_task(name="tenants.data_job", acks_late=True)
def data_job(job_id: int) -> str:
    return datajobs.data_job_run(job_id=job_id)


@shared_task(name="tenants.backups_schedule")
def backups_schedule() -> int:
    return backups.backups_schedule()


@shared_task(name="tenants.backups_sweep")
def backups_sweep() -> int:
    return backups.backups_sweep()


@shared_task(name="tenants.data_jobs_watchdog")
def data_jobs_watchdog() -> int:
    return datajobs.data_jobs_watchdog()


@shared_task(name="tenants.usage_flush")
def usage_flush() -> dict[str, int]:
    return usage.usage_flush()

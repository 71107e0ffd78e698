"""The watchdog against slow-but-live jobs, guarded activation, heartbeats in long steps."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.test import override_settings

from tenants import dbops, provisioning, selectors, services, templates, watchdog
from tenants.models import JobStatus, ProvisioningJob, Tenant
from tests.tenants.conftest import Background, provision, wait_for

IDLE = {"requeued": 0, "failed": 0, "busy": 0, "swept": 0}


def test_the_watchdog_leaves_a_slow_but_live_job_alone(servers: None) -> None:
    tenant, _ = services.tenant_create(slug="p-slow", name="S", admin_email="o@p-slow.test", server="b",
                                       enqueue=False)
    job = ProvisioningJob.objects.get(tenant=tenant)
    reached, release = threading.Event(), threading.Event()

    def progress(step: str, seconds: float) -> None:
        if step == "create_database":  # a live run that stops beating between steps
            reached.set()
            release.wait(30)

    runner = Background(lambda: provisioning.job_run(job_id=job.pk, progress=progress))
    runner.start()
    try:
        assert reached.wait(30)
        ProvisioningJob.objects.filter(pk=job.pk).update(heartbeat_at=_ago(600))  # late, without a clock wait
        with override_settings(PROVISIONING_STALL_SECONDS=1):
            assert [j.pk for j in selectors.stalled_jobs(heartbeat_before=_ago(1))] == [job.pk]
            assert watchdog.provisioning_watchdog() == IDLE | {"busy": 1}
        assert Tenant.objects.get(pk=tenant.pk).status == "provisioning"
        assert ProvisioningJob.objects.get(pk=job.pk).status == JobStatus.RUNNING
        assert dbops.database_exists("b", tenant.database)
    finally:
        release.set()
        runner.join(30)
    assert runner.result == JobStatus.DONE
    assert Tenant.objects.get(pk=tenant.pk).status == "active"


@pytest.mark.parametrize("status,drop,outcome,final,error", [
    ("failed", False, JobStatus.FAILED, "failed", "is failed, no longer provisioning"),
    ("provisioning", True, JobStatus.FAILED, "failed", "is missing on server b"),
    ("active", False, JobStatus.DONE, "active", ""),  # activated before, the step was not recorded
])
def test_activation_is_a_compare_and_set_from_provisioning(
        servers: None, status: str, drop: bool, outcome: str, final: str, error: str) -> None:
    tenant = provision("p-late")
    job = selectors.latest_job(tenant=tenant)
    assert job is not None
    # A late run still has activation ahead while the tenant is in `status`.
    Tenant.objects.filter(pk=tenant.pk).update(
        status=status, activated_at=tenant.activated_at if status == "active" else None)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        status=JobStatus.PENDING, steps_done=["template", "create_database", "admin_user"])
    if drop:
        dbops.drop_database("b", tenant.database)
    assert provisioning.job_run(job_id=job.pk) == outcome
    tenant.refresh_from_db()
    assert tenant.status == final
    assert (error in tenant.error) if error else tenant.error == ""
    assert dbops.database_exists("b", tenant.database) == (final == "active")


def test_a_long_step_keeps_its_heartbeat_fresh(servers: None) -> None:
    tenant, _ = services.tenant_create(slug="p-long", name="L", admin_email="o@p-long.test", server="b",
                                       enqueue=False)
    job = ProvisioningJob.objects.get(tenant=tenant)
    # The template step must rebuild a missing template, and first waits for "another" rebuild.
    dbops.drop_database("b", settings.TENANT_TEMPLATE_DB)
    with dbops.server_connection("b") as holder, holder.cursor() as cursor, \
            override_settings(PROVISIONING_STALL_SECONDS=1):  # beat every 0.25 s
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", templates.LOCK_KEY)
        runner = Background(lambda: provisioning.job_run(job_id=job.pk))
        runner.start()
        try:
            wait_for(lambda: ProvisioningJob.objects.get(pk=job.pk).status == JobStatus.RUNNING, 60)
            beats: set[object] = set()

            def beating() -> bool:  # the step is blocked on the lock: only the heartbeat moves
                beats.add(ProvisioningJob.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk))
                return len(beats) >= 4

            wait_for(beating, 120, "four heartbeats during one step")
            assert ProvisioningJob.objects.get(pk=job.pk).steps_done == []  # still in the template step
            assert watchdog.provisioning_watchdog(sweep=False) == IDLE
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", templates.LOCK_KEY)
            runner.join(120)
    assert runner.result == JobStatus.DONE
    assert Tenant.objects.get(pk=tenant.pk).status == "active" and templates.is_current("b")


def _ago(seconds: float) -> object:
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)

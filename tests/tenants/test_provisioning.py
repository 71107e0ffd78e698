"""Provisioning: validation, conflicts, placement, failures, a killed worker."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from core.aliases import CONTROL_ALIAS
from core.celery import app
from core.dbservers import configured_servers
from core.locks import LockPurpose, lock_key
from tenants import dbops, provisioning, services, watchdog
from tenants.models import JobStatus, ProvisioningJob, Tenant
from tests.api import Api
from tests.conftest import ROOT
from tests.factories import ProvisioningJobFactory
from tests.tenants.conftest import new_tenant, wait_for, worker_command


@pytest.mark.parametrize("slug,reason", [
    ("ab", "3-40"), ("Acme", "3-40"), ("9lives", "3-40"), ("a" * 41, "3-40"), ("acme-", "trailing"),
    ("acme;drop database x", "3-40"), ("acme'--", "3-40"), ("admin", "reserved"), ("api", "reserved"),
])
def test_invalid_or_reserved_slugs_are_400_and_create_nothing(platform: Api, slug: str, reason: str) -> None:
    response = platform.post("/api/platform/tenants/", new_tenant("p-x") | {"slug": slug})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and reason in body["detail"] and "slug" in body["fields"]
    assert Tenant.objects.count() == 0 and ProvisioningJob.objects.count() == 0


@pytest.mark.parametrize("payload,field", [
    ({"name": ""}, "name"), ({"admin_email": "not-an-email"}, "admin_email"), ({"plan": "gold"}, "plan"),
    ({"admin_password": "short"}, "admin_password"), ({"server": "zz"}, "server"),
])
def test_bad_fields_are_400_with_the_field_named(platform: Api, payload: dict[str, str], field: str) -> None:
    response = platform.post("/api/platform/tenants/", new_tenant("p-fields") | payload)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error" and field in response.json()["detail"]
    assert Tenant.objects.count() == 0


def test_non_json_body_is_a_json_400(platform: Api) -> None:
    response = platform.client.post("/api/platform/tenants/", "{not json", content_type="application/json",
                                    HTTP_AUTHORIZATION=f"Token {platform.token}")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_a_duplicate_slug_is_409(platform: Api) -> None:
    assert platform.post("/api/platform/tenants/", new_tenant("p-dup")).status_code == 202
    again = platform.post("/api/platform/tenants/", new_tenant("p-dup"))
    assert again.status_code == 409 and again.json()["code"] == "tenant_exists"
    assert Tenant.objects.filter(slug="p-dup").count() == 1
    platform.wait_status("p-dup", {"active"})


def test_concurrent_creation_of_one_slug_yields_one_tenant(platform: Api) -> None:
    barrier, statuses = threading.Barrier(6), []

    def create() -> None:
        client = Api(platform.client.__class__(), platform.token)
        barrier.wait()
        statuses.append(client.post("/api/platform/tenants/", new_tenant("p-race")).status_code)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [409] * 5
    assert platform.wait_status("p-race", {"active", "failed"})["status"] == "active"
    assert Tenant.objects.filter(slug="p-race").count() == 1


def test_tenants_are_placed_on_the_least_loaded_server_or_the_requested_one(platform: Api) -> None:
    placed = [platform.post("/api/platform/tenants/", new_tenant(f"p-place{i}")).json()["server"] for i in range(4)]
    assert sorted(placed) == ["a", "a", "b", "b"]
    pinned = platform.post("/api/platform/tenants/", new_tenant("p-pinned", server="b")).json()
    assert pinned["server"] == "b"
    for i in range(4):
        platform.wait_status(f"p-place{i}", {"active"})
    assert platform.wait_status("p-pinned", {"active"})["server"] == "b"


def test_a_failing_step_marks_the_tenant_failed_leaves_no_database_and_retry_resumes(platform: Api) -> None:
    # Rows as tenant_create writes them, but run here instead of by the worker.
    services.servers_sync()
    job = ProvisioningJobFactory(tenant__slug="p-fail", payload={"password_hash": make_password("owner-pass-1")})
    tenant = job.tenant
    # Something left an empty database under the tenant's name: the admin user
    # step finds no auth_user table and fails.
    dbops.create_database("a", tenant.database)
    assert provisioning.job_run(job_id=job.pk) == JobStatus.FAILED
    failed = platform.get("/api/platform/tenants/p-fail/").json()
    assert failed["status"] == "failed" and "auth_user" in failed["error"]
    assert not dbops.database_exists("a", tenant.database)  # nothing half-created is left
    assert ProvisioningJob.objects.get(pk=job.pk).steps_done == ["template"]

    retried = platform.post("/api/platform/tenants/p-fail/retry/")
    assert retried.status_code == 202 and retried.json()["status"] == "provisioning"
    assert platform.wait_status("p-fail", {"active", "failed"})["status"] == "active"
    assert ProvisioningJob.objects.get(pk=job.pk).steps_done == ["template", "create_database", "admin_user",
                                                                 "activate"]


def test_a_worker_killed_mid_provisioning_never_leaves_the_tenant_stuck(platform: Api) -> None:
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    session_worker = next(name for reply in app.control.ping(timeout=10) for name in reply
                          if name.startswith("tessera-test-"))
    # A pause after each step, long enough that the poll below sees `create_database` done and kills
    # the worker before `admin_user`, however loaded the machine.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings.test", "PROVISIONING_STEP_PAUSE_SECONDS": "15"}
    doomed = subprocess.Popen(worker_command("doomed"), cwd=ROOT, env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app.control.cancel_consumer(queue, destination=[session_worker], reply=True)
    try:
        wait_for(lambda: any(n.startswith("doomed@") for r in app.control.ping(timeout=0.5) for n in r), 120)
        assert platform.post("/api/platform/tenants/", new_tenant("p-killed", server="a")).status_code == 202
        job = ProvisioningJob.objects.get(tenant__slug="p-killed")
        wait_for(lambda: "create_database" in ProvisioningJob.objects.get(pk=job.pk).steps_done, 120)
        os.killpg(doomed.pid, signal.SIGKILL)  # mid-provisioning: the database exists, no admin yet
        doomed.wait(10)
    finally:
        if doomed.poll() is None:  # the test failed before the kill: never leave it consuming the queue
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.wait(10)
        app.control.add_consumer(queue, destination=[session_worker], reply=True)
    assert ProvisioningJob.objects.get(pk=job.pk).status == JobStatus.RUNNING
    # The server frees the killed worker's job lock once it sees the socket close: wait for that.
    wait_for(lambda: not _job_lock_held(job), 60, "the killed worker's job lock to be released")
    _beat_long_ago(job)
    with override_settings(PROVISIONING_STALL_SECONDS=1):
        assert watchdog.provisioning_watchdog() == {"requeued": 1, "failed": 0, "busy": 0, "swept": 0}
    final = platform.wait_status("p-killed", {"active", "failed"})
    if final["status"] == "active":
        assert dbops.database_exists("a", "tt_p_killed")
    else:
        assert not dbops.database_exists("a", "tt_p_killed")
    assert final["status"] == "active"  # resumed after the last finished step


def _job_lock_held(job: ProvisioningJob) -> bool:
    """Say whether some session still holds the job's advisory lock on the control database."""
    key1, key2 = lock_key(LockPurpose.PROVISIONING_JOB, job.pk)
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                       " AND classid = %s AND objid = %s AND objsubid = 2)", [key1, key2])
        return bool(cursor.fetchone()[0])


def _beat_long_ago(job: ProvisioningJob) -> None:
    """Age the job's last heartbeat past any stall threshold (no waiting on the clock)."""
    ProvisioningJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))


def test_the_watchdog_fails_a_job_that_stalls_on_every_attempt(platform: Api) -> None:
    tenant, _ = services.tenant_create(slug="p-stall", name="S", admin_email="o@p-stall.test", server="b")
    job = ProvisioningJob.objects.get(tenant=tenant)
    wait_for(lambda: ProvisioningJob.objects.get(pk=job.pk).status == JobStatus.DONE, 120)  # the run is over
    # Pretend a run stalled after creating the database, with no attempts left.
    ProvisioningJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=3,
                                                     steps_done=["template", "create_database"])
    Tenant.objects.filter(pk=tenant.pk).update(status="provisioning")
    _beat_long_ago(job)
    with override_settings(PROVISIONING_STALL_SECONDS=1):
        assert watchdog.provisioning_watchdog() == {"requeued": 0, "failed": 1, "busy": 0, "swept": 0}
    assert Tenant.objects.get(pk=tenant.pk).status == "failed"
    assert not dbops.database_exists("b", tenant.database)


def test_pgbouncer_config_lists_each_tenant_with_its_plan_pool_size(servers: None, capsys: object) -> None:
    services.tenant_create(slug="p-pool", name="P", admin_email="o@p-pool.test", server="b", plan="enterprise",
                           enqueue=False)
    call_command("pgbouncer_config", "--server", "b")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    port = configured_servers()["b"].primary.port
    assert f"tt_p_pool = host=127.0.0.1 port={port} dbname=tt_p_pool pool_size=10" in out

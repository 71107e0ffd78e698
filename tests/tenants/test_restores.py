"""Restores (in place, as new) and clones: the data comes back, credentials stay apart, failures change nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from core.dbservers import configured_servers
from tenants import backupstore, dbops, operations
from tenants.models import AuditEvent, Backup, JobKind, ProvisioningJob, RetiredDatabase, Tenant
from tests.tenants.conftest import Api, Background, provision, wait_for
from tests.tenants.test_backups import DEADLINE, take_backup

PASSWORD = "owner-pass-1"


def signed_in(platform: Api, slug: str) -> str:
    return platform.tenant_token(slug, f"owner@{slug}.test", PASSWORD)


def project_keys(platform: Api, slug: str, token: str) -> list[str]:
    response = platform.get("/api/projects/", tenant=slug, token=token)
    assert response.status_code == 200, response.content
    return sorted(project["key"] for project in response.json()["results"])


def add_project(platform: Api, slug: str, token: str, key: str) -> None:
    response = platform.post("/api/projects/", {"name": key.title(), "key": key}, tenant=slug, token=token)
    assert response.status_code == 201, response.content


def backed_up_then_changed(platform: Api, slug: str, kept: str, later: str) -> tuple[Tenant, str, dict[str, Any]]:
    """Provision `slug` on server a with project `kept`, back it up, then add project `later`."""
    tenant = provision(slug, server="a")
    token = signed_in(platform, slug)
    add_project(platform, slug, token, kept)
    backup = take_backup(platform, slug)
    add_project(platform, slug, token, later)
    return tenant, token, backup


def wait_job(job_id: int) -> ProvisioningJob:
    wait_for(lambda: ProvisioningJob.objects.get(pk=job_id).status in ("done", "failed"), DEADLINE, f"job {job_id}")
    return ProvisioningJob.objects.get(pk=job_id)


def restore(platform: Api, slug: str, backup_id: int, body: dict[str, Any]) -> Any:
    return platform.post(f"/api/platform/tenants/{slug}/backups/{backup_id}/restore/", body)


class MaintenanceWatcher:
    """Poll a tenant's API until it has answered 503 `tenant_maintenance` and then 200 again."""

    def __init__(self, platform: Api, slug: str, token: str) -> None:
        self.platform, self.slug, self.token = platform, slug, token
        self.maintenance: list[Any] = []
        self.back, self.polling = False, threading.Event()

    def run(self) -> None:
        import time

        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not self.back:
            response = self.platform.get("/api/projects/", tenant=self.slug, token=self.token)
            self.polling.set()
            if response.status_code == 503:
                self.maintenance.append(response)
            elif response.status_code == 200 and self.maintenance:
                self.back = True


@pytest.mark.slow
def test_a_restore_in_place_serves_the_backups_data_from_a_new_database_and_retires_the_old(platform: Api) -> None:
    tenant, token, backup = backed_up_then_changed(platform, "p-rs-place", "KEPT", "LATER")
    watcher = MaintenanceWatcher(platform, "p-rs-place", token)
    thread = Background(watcher.run)
    thread.start()
    assert watcher.polling.wait(DEADLINE), "the watcher never polled"
    response = restore(platform, "p-rs-place", backup["id"], {"in_place": True})
    assert response.status_code == 202, response.content
    assert response.json()["tenant"]["status"] == "maintenance"
    job = wait_job(response.json()["job"]["id"])
    assert job.status == "done", job.error
    thread.join(DEADLINE)
    assert watcher.back and watcher.maintenance, "the maintenance window was not observed"
    answer = watcher.maintenance[0]
    assert answer.json()["code"] == "tenant_maintenance" and int(answer["Retry-After"]) > 0
    assert job.steps_done == ["restore_database", "switch", "retire"] and job.requested_by.startswith("token:")
    assert project_keys(platform, "p-rs-place", token) == ["KEPT"]  # the backup's state; its tokens still work
    restored = Tenant.objects.get(pk=tenant.pk)
    assert restored.status == "active" and restored.database == f"{tenant.database}_r{job.pk}"
    assert dbops.database_comment("a", restored.database) == f"tessera-tenant:{tenant.pk}"
    retired = RetiredDatabase.objects.get(tenant=tenant)
    assert (retired.database, retired.reason, retired.job_id) == (tenant.database, JobKind.RESTORE, job.pk)
    assert dbops.database_comment("a", tenant.database) == f"tessera-retired:{tenant.pk}"


@pytest.mark.slow
def test_a_clone_copies_a_live_tenant_by_template_when_idle_and_by_dump_otherwise(platform: Api) -> None:
    provision("p-cl-idle")
    response = platform.post("/api/platform/tenants/p-cl-idle/clone/", {"as": "p-cl-idle-copy"})
    assert response.status_code == 202, response.content
    job = wait_job(response.json()["job"]["id"])
    assert job.status == "done" and job.kind == JobKind.CLONE and job.payload["method"] == "template", job.error
    [event] = AuditEvent.objects.filter(action="tenant.clone")
    assert (event.actor, event.tenant_slug, event.params["as"]) == (
        "token:platform-admin", "p-cl-idle", "p-cl-idle-copy")

    provision("p-cl-busy")
    token = signed_in(platform, "p-cl-busy")
    add_project(platform, "p-cl-busy", token, "MAIN")
    source = Tenant.objects.get(slug="p-cl-busy")
    held = configured_servers()["b"].connect(source.database, application_name="tessera-test-session")
    try:
        response = platform.post("/api/platform/tenants/p-cl-busy/clone/", {"as": "p-cl-busy-copy", "name": "Stage"})
        assert response.status_code == 202, response.content
        job = wait_job(response.json()["job"]["id"])
    finally:
        held.close()
    assert job.status == "done" and job.payload["method"] == "dump", job.error
    assert platform.get("/api/me/", tenant="p-cl-busy-copy", token=token).status_code == 401
    copy_token = platform.tenant_token("p-cl-busy-copy", "owner@p-cl-busy.test", PASSWORD)
    assert project_keys(platform, "p-cl-busy-copy", copy_token) == ["MAIN"]
    assert Tenant.objects.get(slug="p-cl-busy-copy").name == "Stage"


@pytest.mark.slow
def test_a_corrupt_or_missing_backup_file_fails_clearly_and_changes_nothing(platform: Api) -> None:
    tenant, token, backup = backed_up_then_changed(platform, "p-rs-bad", "ONE", "TWO")
    row = Backup.objects.get(pk=backup["id"])
    path = Path(backupstore.backup_storage().path(row.storage_name))
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))

    response = restore(platform, "p-rs-bad", row.pk, {"in_place": True})
    assert response.status_code == 202, response.content
    job = wait_job(response.json()["job"]["id"])
    assert job.status == "failed" and "corrupt" in job.error, job.error
    tenant.refresh_from_db()
    assert tenant.status == "active" and tenant.database == "tt_p_rs_bad"
    assert not dbops.database_exists("a", job.payload["database"])
    assert project_keys(platform, "p-rs-bad", token) == ["ONE", "TWO"]  # nothing lost
    assert not RetiredDatabase.objects.exists()

    response = restore(platform, "p-rs-bad", row.pk, {"as": "p-rs-bad-new"})
    assert response.status_code == 202, response.content
    job = wait_job(response.json()["job"]["id"])
    assert job.status == "failed" and "corrupt" in job.error
    failed = platform.wait_status("p-rs-bad-new", {"failed"})
    assert "corrupt" in failed["error"] and not dbops.database_exists("b", "tt_p_rs_bad_new")

    path.unlink()
    response = restore(platform, "p-rs-bad", row.pk, {"as": "p-rs-bad-other"})
    assert response.status_code == 409 and response.json()["code"] == "backup_unusable", response.content
    assert not Tenant.objects.filter(slug="p-rs-bad-other").exists()
    response = restore(platform, "p-rs-bad", row.pk, {"in_place": True})
    assert response.status_code == 409 and response.json()["code"] == "backup_unusable"
    tenant.refresh_from_db()
    assert tenant.status == "active"


def test_bad_requests_get_clear_errors_and_change_nothing(platform: Api) -> None:
    tenant = provision("p-rs-input")
    other = provision("p-rs-other")
    backup = take_backup(platform, "p-rs-input")
    foreign = take_backup(platform, "p-rs-other")
    jobs_before = ProvisioningJob.objects.count()
    cases = [
        (restore(platform, "p-rs-input", 999999, {"as": "p-rs-x"}), 404, "not_found"),
        (restore(platform, "p-rs-input", foreign["id"], {"in_place": True}), 404, "not_found"),
        (restore(platform, "p-rs-input", backup["id"], {"as": "p-rs-other"}), 409, "tenant_exists"),
        (restore(platform, "p-rs-input", backup["id"], {"as": "Bad Slug!"}), 400, "validation_error"),
        (restore(platform, "p-rs-input", backup["id"], {}), 400, "validation_error"),
        (restore(platform, "p-rs-input", backup["id"], {"as": "p-rs-y", "in_place": True}), 400, "validation_error"),
        (restore(platform, "p-rs-input", backup["id"], ["in_place"]), 400, "validation_error"),
        (platform.post("/api/platform/tenants/p-rs-input/clone/", {}), 400, "validation_error"),
        (platform.post("/api/platform/tenants/p-rs-input/clone/", {"as": "p-rs-other"}), 409, "tenant_exists"),
        (platform.post("/api/platform/tenants/nope/clone/", {"as": "p-rs-z"}), 404, "not_found"),
    ]
    for response, code, error in cases:
        assert (response.status_code, response.json()["code"]) == (code, error), response.content
        assert "detail" in response.json()
    assert platform.post("/api/platform/tenants/p-rs-input/suspend/").status_code == 200
    for response in (restore(platform, "p-rs-input", backup["id"], {"in_place": True}),
                     platform.post("/api/platform/tenants/p-rs-input/clone/", {"as": "p-rs-w"})):
        assert response.status_code == 409 and response.json()["code"] == "invalid_state", response.content
    assert ProvisioningJob.objects.count() == jobs_before
    assert set(Tenant.objects.values_list("slug", flat=True)) == {tenant.slug, other.slug}


def test_a_restore_in_place_is_refused_while_another_exclusive_operation_runs(platform: Api) -> None:
    tenant = provision("p-rs-excl")
    backup = take_backup(platform, "p-rs-excl")
    operations.exclusive_job_create(tenant=tenant, kind=JobKind.MOVE, requested_by="cli:ops")
    response = restore(platform, "p-rs-excl", backup["id"], {"in_place": True})
    assert response.status_code == 409 and response.json()["code"] == "operation_in_progress", response.content
    tenant.refresh_from_db()
    assert tenant.status == "active"
    assert not ProvisioningJob.objects.filter(kind=JobKind.RESTORE).exists()


def test_the_watchdog_fails_a_restore_whose_worker_died_and_ends_the_maintenance(platform: Api) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from tenants import datajobs, restores

    tenant = provision("p-rs-dead")
    backup = take_backup(platform, "p-rs-dead")
    job = restores.restore_in_place(tenant=tenant, backup_id=backup["id"], requested_by="cli:ops", enqueue=False)
    tenant.refresh_from_db()
    assert tenant.status == "maintenance"
    stale = timezone.now() - timedelta(hours=1)
    ProvisioningJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stale)
    assert datajobs.data_jobs_watchdog() == 1
    job.refresh_from_db()
    tenant.refresh_from_db()
    assert job.status == "failed" and "no progress" in job.error
    assert (tenant.status, tenant.database) == ("active", "tt_p_rs_dead")
    assert datajobs.data_jobs_watchdog() == 0

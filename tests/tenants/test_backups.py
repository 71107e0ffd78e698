"""Backups: taken while the tenant serves, verified, listed, let go by retention, scheduled for every tenant."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.dbservers import configured_servers
from tenants import backups, backupstore
from tenants.models import AuditEvent, Backup, BackupStatus, JobKind, ProvisioningJob, Tenant
from tests.tenants.conftest import Api, Background, provision, wait_for

DEADLINE = 180


def tenant_sql(tenant: Tenant, *statements: str) -> list[Any]:
    """Run `statements` on the tenant's primary (directly); return the rows of the last one."""
    conn = configured_servers()[tenant.server_id].connect(tenant.database, application_name="tessera-test")
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def wait_backup(platform: Api, slug: str, backup_id: int) -> dict[str, Any]:
    """Poll the API until the backup is done or failed; return it."""
    found: dict[str, Any] = {}

    def finished() -> bool:
        found.update(platform.get(f"/api/platform/tenants/{slug}/backups/{backup_id}/").json())
        return found.get("status") in (BackupStatus.DONE, BackupStatus.FAILED)

    wait_for(finished, DEADLINE, f"backup {backup_id} finished")
    return found


def take_backup(platform: Api, slug: str) -> dict[str, Any]:
    response = platform.post(f"/api/platform/tenants/{slug}/backups/")
    assert response.status_code == 202, response.content
    backup = wait_backup(platform, slug, response.json()["id"])
    assert backup["status"] == BackupStatus.DONE, backup
    return backup


class Writer:
    """Write a row into each of two tables per transaction, until stopped (a consistent dump has equal sets)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant, self.stop, self.batches = tenant, threading.Event(), 0
        tenant_sql(tenant, "CREATE TABLE probe_a (batch int)", "CREATE TABLE probe_b (batch int)")

    def run(self) -> None:
        conn = configured_servers()[self.tenant.server_id].connect(
            self.tenant.database, application_name="tessera-test-writer", autocommit=False)
        try:
            while not self.stop.is_set():
                with conn.cursor() as cursor:
                    cursor.execute("INSERT INTO probe_a VALUES (%s)", [self.batches])
                    cursor.execute("INSERT INTO probe_b VALUES (%s)", [self.batches])
                conn.commit()
                self.batches += 1
        finally:
            conn.close()


def probe_sets(tenant: Tenant) -> tuple[set[int], set[int]]:
    a = {row[0] for row in tenant_sql(tenant, "SELECT batch FROM probe_a")}
    return a, {row[0] for row in tenant_sql(tenant, "SELECT batch FROM probe_b")}


@pytest.mark.slow
def test_a_backup_taken_under_writes_is_consistent_and_restores_as_a_new_tenant_with_its_own_tokens(
        platform: Api) -> None:
    source = provision("p-bk-live", server="a")
    old_token = platform.tenant_token("p-bk-live", "owner@p-bk-live.test", "owner-pass-1")
    writer = Writer(source)
    thread = Background(writer.run)
    thread.start()
    wait_for(lambda: writer.batches > 50, DEADLINE, "the writer is writing")
    backup = take_backup(platform, "p-bk-live")
    writer.stop.set()
    thread.join(DEADLINE)
    assert backup["size"] > 0 and len(backup["checksum"]) == 64 and backup["requested_by"].startswith("token:")

    response = platform.post(f"/api/platform/tenants/p-bk-live/backups/{backup['id']}/restore/", {"as": "p-bk-copy"})
    assert response.status_code == 202, response.content
    assert response.json()["job"]["kind"] == JobKind.RESTORE and response.json()["tenant"]["slug"] == "p-bk-copy"
    copy = platform.wait_status("p-bk-copy", {"active", "failed"}, DEADLINE)
    assert copy["status"] == "active", copy
    restored = Tenant.objects.get(slug="p-bk-copy")
    a, b = probe_sets(restored)
    assert a and a == b  # one snapshot: every transaction is in both tables or in neither
    assert len(a) < writer.batches  # taken while writes went on after it
    assert tenant_sql(restored, "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                f"WHERE datname = '{restored.database}'") == [(f"tessera-tenant:{restored.pk}",)]
    refused = platform.get("/api/me/", tenant="p-bk-copy", token=old_token)
    assert refused.status_code == 401, refused.content
    new_token = platform.tenant_token("p-bk-copy", "owner@p-bk-live.test", "owner-pass-1")
    assert platform.get("/api/me/", tenant="p-bk-copy", token=new_token).status_code == 200
    assert platform.get("/api/me/", tenant="p-bk-live", token=old_token).status_code == 200  # the source keeps its own


def test_backups_are_listed_with_their_job_and_the_cli_shows_progress(platform: Api) -> None:
    provision("p-bk-list")
    out = io.StringIO()
    call_command("backup_tenant", "p-bk-list", stdout=out)
    assert "dump done" in out.getvalue() and "verify done" in out.getvalue(), out.getvalue()
    listed = platform.get("/api/platform/tenants/p-bk-list/backups/")
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["status"] == "done" and row["requested_by"].startswith("cli:") and row["expires_at"]
    assert {"id", "size", "created_at", "checksum", "error"} <= set(row)
    assert row["job"]["kind"] == "backup" and row["job"]["steps_done"] == ["dump", "verify"]
    jobs = platform.get("/api/platform/tenants/p-bk-list/jobs/").json()
    assert [job["kind"] for job in jobs] == ["backup", "provision"]
    assert platform.get("/api/platform/tenants/nope/backups/").status_code == 404


def test_a_corrupt_stored_file_fails_verification(platform: Api) -> None:
    provision("p-bk-bad")
    backup = take_backup(platform, "p-bk-bad")
    row = Backup.objects.get(pk=backup["id"])
    path = Path(backupstore.backup_storage().path(row.storage_name))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(backupstore.BackupUnusable, match="corrupt"):
        backupstore.verify(name=row.storage_name, checksum=row.checksum, server=row.server)
    path.write_bytes(b"not an archive")
    with pytest.raises(backupstore.BackupUnusable):
        backupstore.verify(name=row.storage_name, checksum=backupstore_sha(path), server=row.server)


def backupstore_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_sweep_lets_go_what_the_plan_does_not_keep_and_never_the_newest(platform: Api) -> None:
    tenant = provision("p-bk-keep")
    rule = backups.retention_of(tenant.plan)
    rows = []
    for age in (0, rule.days + 1, rule.days + 2):
        backup = take_backup(platform, "p-bk-keep")
        Backup.objects.filter(pk=backup["id"]).update(created_at=timezone.now() - timedelta(days=age))
        rows.append(Backup.objects.get(pk=backup["id"]))
    assert backups.backups_sweep() == 2
    assert list(Backup.objects.filter(tenant=tenant).values_list("pk", flat=True)) == [rows[0].pk]
    storage = backupstore.backup_storage()
    assert storage.exists(rows[0].storage_name)
    assert not storage.exists(rows[1].storage_name) and not storage.exists(rows[2].storage_name)
    later = timezone.now() + timedelta(days=rule.days * 10)
    assert backups.backups_sweep(now=later) == 0  # the only (newest) backup stays


def test_the_schedule_queues_one_backup_per_active_tenant_and_skips_busy_ones(platform: Api) -> None:
    first, second = provision("p-bk-sch1"), provision("p-bk-sch2", server="a")
    assert backups.backups_schedule() == 2
    assert backups.backups_schedule() == 0 or Backup.objects.filter(status="done").count() == 2
    for tenant in (first, second):
        wait_for(lambda t=tenant: Backup.objects.filter(tenant=t, status="done").exists(), DEADLINE,  # type: ignore[misc]
                 f"scheduled backup of {tenant.slug}")
    assert set(Backup.objects.values_list("requested_by", flat=True)) == {"schedule"}
    assert list(AuditEvent.objects.filter(action="backup.create").values_list("actor", flat=True)) == ["schedule"] * 2
    # The job row is marked done just after the backup row it produced.
    wait_for(lambda: ProvisioningJob.objects.filter(kind=JobKind.BACKUP, status="done").count() >= 2, DEADLINE,
             "both backup jobs done")


def test_each_backup_action_needs_its_own_permission(platform: Api) -> None:
    from tests.tenants.test_platform_permissions import _staff

    provision("p-bk-perm")
    backup = take_backup(platform, "p-bk-perm")
    viewer = _staff("backup-viewer", "view_backup")
    assert viewer.get("/api/platform/tenants/p-bk-perm/backups/").status_code == 200
    assert viewer.get(f"/api/platform/tenants/p-bk-perm/backups/{backup['id']}/").status_code == 200
    refused = [viewer.post("/api/platform/tenants/p-bk-perm/backups/"),
               viewer.post(f"/api/platform/tenants/p-bk-perm/backups/{backup['id']}/restore/", {"as": "p-bk-x"}),
               viewer.post("/api/platform/tenants/p-bk-perm/clone/", {"as": "p-bk-y"}),
               viewer.get("/api/platform/tenants/p-bk-perm/jobs/")]
    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    assert Backup.objects.count() == 1 and Tenant.objects.count() == 1
    restorer = _staff("restorer", "restore_backup")
    response = restorer.post(f"/api/platform/tenants/p-bk-perm/backups/{backup['id']}/restore/", {"as": "p-bk-z"})
    assert response.status_code == 202, response.content
    assert platform.wait_status("p-bk-z", {"active", "failed"}, DEADLINE)["status"] == "active"

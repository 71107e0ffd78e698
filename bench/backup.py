"""Backup and restore times for tenants of ~10 MB and ~200 MB.

For each size: provision a tenant (in this process, nothing queued), fill it
with incompressible-ish rows (hex digests, ~1 KB each) up to the size, then
time the three jobs end to end in this process, step by step:

- backup: `pg_dump -Fc` to scratch + copy to the backup storage with sha256,
  then verification (checksum of the stored file + `pg_restore --list`);
- restore as a new tenant: fetch with checksum check, `pg_restore` into a new
  database, scrub tokens and sessions, activate;
- restore in place: the same restore, the switch, retiring the old database.
  Its total is the tenant's maintenance window (503 `tenant_maintenance`).

    python -m bench.backup [--sizes 10,200] [--quick]     (services up: `make services`)
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import print_table, setup_django, write_result

PREFIX = "bench-bk-"
ROW_BYTES = 32 * 32  # 32 md5 hex digests per row
FILL_BATCH_ROWS = 2_000  # ~2.3 MB: the sizes land within a batch of the target


def provision(slug: str) -> Any:
    from tenants import provisioning, selectors, services

    tenant, _ = services.tenant_create(slug=slug, name=slug, admin_email=f"o@{slug}.test",
                                       admin_password="bench-pass-1", server="a", enqueue=False)
    job = selectors.latest_job(tenant=tenant)
    assert job is not None and provisioning.job_run(job_id=job.pk) == "done"
    tenant.refresh_from_db()
    return tenant


def fill(tenant: Any, megabytes: int) -> tuple[int, int]:
    """Add rows until the tenant's data is about `megabytes` MB; return the data and database sizes in bytes.

    An empty tenant database already takes ~8 MB (catalogs, the product's empty tables): the size
    asked for is that of the rows added, the table and its index.
    """
    from core.dbservers import configured_servers

    conn = configured_servers()[tenant.server_id].connect(tenant.database, application_name="bench-fill")
    try:
        with conn.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_filler (id bigint PRIMARY KEY, body text NOT NULL)")
            done = 0
            while _size(cursor) < megabytes * 1024 * 1024:
                cursor.execute("INSERT INTO bench_filler SELECT g, (SELECT string_agg(md5(g::text || '-' || i), '') "
                               "FROM generate_series(1, 32) i) FROM generate_series(%s, %s) g",
                               [done, done + FILL_BATCH_ROWS - 1])
                done += FILL_BATCH_ROWS
            cursor.execute("VACUUM ANALYZE bench_filler")
            cursor.execute("SELECT pg_total_relation_size('bench_filler'), pg_database_size(%s)", [tenant.database])
            data, database = cursor.fetchone()
            return int(data), int(database)
    finally:
        conn.close()


def _size(cursor: Any) -> int:
    cursor.execute("SELECT pg_total_relation_size('bench_filler')")
    return int(cursor.fetchone()[0])


def run_job(job_id: int) -> dict[str, float]:
    """Run a data job here; return each step's seconds and the total."""
    from tenants import datajobs

    steps: dict[str, float] = {}
    started = time.perf_counter()
    status = datajobs.data_job_run(job_id=job_id, progress=lambda step, seconds: steps.__setitem__(step, seconds))
    steps["total"] = time.perf_counter() - started
    assert status == "done", f"job {job_id} {status}"
    return steps


def measure(megabytes: int) -> dict[str, Any]:
    from tenants import backups, restores
    from tenants.models import Backup

    tenant = provision(f"{PREFIX}{megabytes}")
    data, size = fill(tenant, megabytes)
    backup = backups.backup_create(tenant=tenant, requested_by="bench", enqueue=False)
    assert backup.job_id is not None
    backup_steps = run_job(backup.job_id)
    backup = Backup.objects.using("default").get(pk=backup.pk)
    as_new = restores.restore_as_new(tenant=tenant, backup_id=backup.pk, slug=f"{PREFIX}{megabytes}-new",
                                     requested_by="bench", enqueue=False)
    new_steps = run_job(as_new.pk)
    in_place = restores.restore_in_place(tenant=tenant, backup_id=backup.pk, requested_by="bench", enqueue=False)
    place_steps = run_job(in_place.pk)
    return {"data_bytes": data, "database_bytes": size, "dump_bytes": backup.size, "backup": backup_steps,
            "restore_as_new": new_steps, "restore_in_place": place_steps}


def cleanup() -> None:
    """Drop what earlier runs left: the tenants' databases (current and retired) and their backups."""
    from tenants import backupstore, dbops
    from tenants.models import Backup, RetiredDatabase, Tenant

    tenants = Tenant.objects.using("default").filter(slug__startswith=PREFIX)
    for backup in Backup.objects.using("default").filter(tenant__in=tenants):
        backupstore.delete(backup.storage_name)
    for retired in RetiredDatabase.objects.using("default").filter(tenant__in=tenants):
        dbops.drop_database(retired.server_id, retired.database)
    for tenant in tenants:
        dbops.drop_database(tenant.server_id, tenant.database)
    tenants.delete()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,200", help="tenant sizes in MB, comma-separated")
    parser.add_argument("--quick", action="store_true", help="one tiny tenant (smoke test)")
    args = parser.parse_args()
    sizes = [1] if args.quick else [int(size) for size in args.sizes.split(",")]
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cleanup()
    results = {}
    try:
        for megabytes in sizes:
            results[f"{megabytes}MB"] = measure(megabytes)
    finally:
        cleanup()
    rows = [(name, f"{r['data_bytes'] / 2**20:.0f}", f"{r['database_bytes'] / 2**20:.0f}",
             f"{r['dump_bytes'] / 2**20:.1f}", f"{r['backup']['dump']:.2f}", f"{r['backup']['verify']:.2f}",
             f"{r['backup']['total']:.2f}",
             f"{r['restore_as_new']['total']:.2f}", f"{r['restore_in_place']['total']:.2f}")
            for name, r in results.items()]
    headers = ("tenant", "data MB", "db MB", "dump MB", "dump", "verify", "backup", "restore as new",
               "restore in place")
    print_table("Backup and restore (seconds)", rows, headers)
    print(f"\nwritten {write_result('backup', {'results': results})}")


if __name__ == "__main__":
    main()

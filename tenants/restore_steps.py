"""The steps of restores and clones (run by tenants.datajobs).

    restore as new:   restore_database -> scrub_credentials -> activate
    restore in place: restore_database -> switch -> retire
    clone:            copy_database -> scrub_credentials -> activate

A database being filled carries the mark `tessera-restoring:<job id>` (never
the tenant mark, so the orphan sweep and every check that looks for a serving
tenant's database leave it alone) until the step that makes it serve. A
failure drops it through the owner-checked drop, and puts the tenant back:
a new tenant becomes `failed` (no database left), a tenant restored in place
goes back to `active` on the database it had.
"""

from __future__ import annotations

import logging

import psycopg2
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg2 import errorcodes

from core.aliases import CONTROL_ALIAS
from core.dbservers import configured_servers
from routers import tenant_keys_purge, unregister
from tenants import backupstore, dbops, pgtools, resolution, selectors
from tenants.jobflows import Flow
from tenants.marks import owner_mark
from tenants.models import Backup, JobKind, ProvisioningJob, RetiredDatabase, Tenant, TenantStatus
from tenants.provisioning import step_activate
from tenants.retired import database_retire

logger = logging.getLogger("tessera.backups")
RESTORING_MARK = "tessera-restoring:"
# User-facing credentials that must not carry over to another tenant: API tokens and sessions.
CREDENTIAL_TABLES = ("authtoken_token", "django_session")


def restoring_mark(job: ProvisioningJob) -> str:
    """Return the comment of a database that `job` is filling."""
    return f"{RESTORING_MARK}{job.pk}"


def _target(job: ProvisioningJob) -> tuple[str, str]:
    """Return the server and database the job fills (a new tenant's own, or the in-place restore's new one)."""
    if "database" in job.payload:
        return job.tenant.server_id, str(job.payload["database"])
    return job.tenant.server_id, job.tenant.database


def _create_empty(job: ProvisioningJob, server: str, name: str) -> None:
    """Create `name` empty (from template0), marked as being filled by `job`; a leftover of a rerun goes first."""
    with dbops.server_connection(server) as conn:
        dbops.drop_owned_database(conn, name, mark=restoring_mark(job))
        dbops.create_database(conn, name, template="template0")
        dbops.set_comment(conn, name, restoring_mark(job))
        dbops.apply_database_settings(conn, name)


def step_restore_database(job: ProvisioningJob) -> None:
    """Fetch the backup (its checksum checked before anything is created), then restore it into the target."""
    backup = Backup.objects.using(CONTROL_ALIAS).get(pk=job.payload["backup_id"])
    server, name = _target(job)
    with backupstore.scratch_file() as path:
        backupstore.fetch(name=backup.storage_name, checksum=backup.checksum, path=path)
        _create_empty(job, server, name)
        pgtools.restore_from_file(server=server, database=name, path=path)


def step_copy_database(job: ProvisioningJob) -> None:
    """Copy the clone's source: by template when the source is idle and small, else by dump and restore."""
    source = Tenant.objects.using(CONTROL_ALIAS).get(pk=job.payload["source_id"])
    server, name = _target(job)
    method = "template" if _copied_by_template(job, source, server, name) else "dump"
    if method == "dump":
        with backupstore.scratch_file() as path:
            pgtools.dump_to_file(server=source.server_id, database=source.database, path=path)
            _create_empty(job, server, name)
            pgtools.restore_from_file(server=server, database=name, path=path)
    job.payload = {**job.payload, "method": method}
    job.save(update_fields=["payload"])


def _copied_by_template(job: ProvisioningJob, source: Tenant, server: str, name: str) -> bool:
    """Try `CREATE DATABASE ... TEMPLATE source`; False when it cannot be used (the caller dumps instead).

    PostgreSQL refuses the copy while any session is connected to the source
    (a PgBouncer holding an idle server connection counts), and blocks new
    connections to the source while it copies: only an idle source up to
    CLONE_TEMPLATE_MAX_BYTES is copied this way.
    """
    if source.server_id != server:
        return False
    with dbops.server_connection(server) as conn:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(%s), (SELECT count(*) FROM pg_stat_activity WHERE datname = %s)",
                           [source.database, source.database])
            size, sessions = cursor.fetchone()
        if sessions or size > settings.CLONE_TEMPLATE_MAX_BYTES:
            return False
        dbops.drop_owned_database(conn, name, mark=restoring_mark(job))
        try:
            dbops.create_database(conn, name, template=source.database)
        except psycopg2.Error as exc:
            if exc.pgcode != errorcodes.OBJECT_IN_USE:  # a session connected meanwhile: dump instead
                raise
            return False
        dbops.set_comment(conn, name, restoring_mark(job))
        dbops.apply_database_settings(conn, name)
    return True


def step_scrub_credentials(job: ProvisioningJob) -> None:
    """Delete the copied tokens and sessions: the source's credentials must not open the new tenant."""
    server, name = _target(job)
    conn = configured_servers()[server].connect(name, application_name="tessera-restore")
    try:
        with conn.cursor() as cursor:
            for table in CREDENTIAL_TABLES:
                cursor.execute(f"DELETE FROM {table}")  # a constant table name, never input
    finally:
        conn.close()


def step_activate_new(job: ProvisioningJob) -> None:
    """Give the filled database its tenant's owner mark, then activate the tenant."""
    server, name = _target(job)
    dbops.set_comment(server, name, owner_mark(job.tenant))
    step_activate(job.tenant, job)


def step_switch(job: ProvisioningJob) -> None:
    """Make the restored database serve the tenant and end maintenance (idempotent)."""
    tenant = Tenant.objects.using(CONTROL_ALIAS).get(pk=job.tenant_id)
    server, name = _target(job)
    if tenant.database != name:
        dbops.set_comment(server, name, owner_mark(tenant))
        with transaction.atomic(using=CONTROL_ALIAS):
            switched = Tenant.objects.filter(pk=tenant.pk, status=TenantStatus.MAINTENANCE,
                                             database=job.payload["previous"]).update(
                database=name, status=TenantStatus.ACTIVE, updated_at=timezone.now())
            if not switched:
                raise RuntimeError(f"tenant {tenant.slug} left maintenance on {job.payload['previous']}: not switched")
    unregister(tenant.slug)
    tenant_keys_purge(selectors.tenant_spec(tenant))  # cached answers describe data the restore replaced
    resolution.invalidate()


def step_retire(job: ProvisioningJob) -> None:
    """Keep the replaced database as a safety copy, dropped after the retired-database grace period."""
    tenant = Tenant.objects.using(CONTROL_ALIAS).get(pk=job.tenant_id)
    previous = str(job.payload["previous"])
    if not RetiredDatabase.objects.filter(server__name=tenant.server_id, database=previous,
                                          dropped_at__isnull=True).exists():
        database_retire(tenant=tenant, server=tenant.server_id, database=previous, reason=JobKind.RESTORE, job=job)


def new_tenant_fail(job: ProvisioningJob) -> str:
    """Drop what the job filled and leave the new tenant `failed` with the error."""
    server, name = _target(job)
    unregister(job.tenant.slug)
    note = _drop_filled(job, server, name, marks=(restoring_mark(job), owner_mark(job.tenant)))
    Tenant.objects.filter(pk=job.tenant_id, status=TenantStatus.PROVISIONING).update(
        status=TenantStatus.FAILED, error=(job.error + note)[:4000], updated_at=timezone.now())
    resolution.invalidate()
    return note


def in_place_fail(job: ProvisioningJob) -> str:
    """Before the switch: back to `active` on the old database, the half-restored one dropped."""
    if "switch" in job.steps_done:
        return (f" (the restore is serving; retiring the old database {job.payload['previous']} failed:"
                " it is still marked as the tenant's and must be retired by hand)")
    Tenant.objects.filter(pk=job.tenant_id, status=TenantStatus.MAINTENANCE).update(
        status=TenantStatus.ACTIVE, database=job.payload["previous"], updated_at=timezone.now())
    resolution.invalidate()
    server, name = _target(job)
    return _drop_filled(job, server, name, marks=(restoring_mark(job),))


def _drop_filled(job: ProvisioningJob, server: str, name: str, *, marks: tuple[str, ...]) -> str:
    try:
        dbops.drop_owned_database(server, name, mark=marks)
    except dbops.OwnerMismatch as exc:
        return f" (database left alone: {exc})"
    except Exception as exc:
        logger.exception("could not drop %s on %s after job %s failed", name, server, job.pk)
        return f" (could not drop the half-filled database {name}: {exc})"
    return ""


FLOWS: dict[str, Flow] = {
    "restore_new": Flow(steps=(("restore_database", step_restore_database), ("scrub_credentials",
                                step_scrub_credentials), ("activate", step_activate_new)), on_fail=new_tenant_fail),
    "restore_in_place": Flow(steps=(("restore_database", step_restore_database), ("switch", step_switch),
                                    ("retire", step_retire)), on_fail=in_place_fail),
    "clone": Flow(steps=(("copy_database", step_copy_database), ("scrub_credentials", step_scrub_credentials),
                         ("activate", step_activate_new)), on_fail=new_tenant_fail),
}

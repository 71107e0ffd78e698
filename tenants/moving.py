"""Move a tenant's database to another server while it keeps serving.

    create_target -> publish -> subscribe -> copy -> catch_up -> cutover -> cleanup -> retire

The steps run in the provisioning state machine (`tenants.provisioning`:
one run at a time, heartbeat, steps recorded in `ProvisioningJob.steps_done`).
The target database is cloned from the target server's template (at the
latest migration state, so the schema matches a source that is current;
the move refuses a source whose applied migrations differ), emptied, and
filled by a logical replication subscription that copies every row and then
streams changes. The cutover blocks the tenant's writes (`tenants.writegate`),
locks the source's tables against writes, waits until the target has
replayed everything (`tenants.replication` marker), copies sequence values,
revokes writes on the source, switches the tenant to the target in the
control plane and bumps the resolution generation, then unblocks. The old
database is retired (`tenants.retired`), dropped after the grace period.

While the move builds it, the target carries the mark `tessera-moving:<id>`
(never the tenant's owner mark: the orphan sweep must not mistake it for a
leftover, and a failed move drops it through the owner-checked drop). A
failure before the switch rolls everything back (`move_rollback`); after it,
the tenant is on the target and only the replication objects remain to
clean, which `move_rollback` does too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from psycopg2.extensions import connection as PgConnection

from core.aliases import CONTROL_ALIAS
from core.dbservers import ServerConfig, configured_servers
from tenants import dbops, replication, resolution, retired, writegate
from tenants.marks import owner_mark
from tenants.models import JobKind, ProvisioningJob, Tenant
from tenants.templates import ensure_template

logger = logging.getLogger("tessera.provisioning")
MOVING_MARK = "tessera-moving:"


class MoveFailed(Exception):
    """A move step found a condition it cannot proceed from (the move rolls back)."""


def moving_mark(tenant: Tenant) -> str:
    """Return the comment of a database being built as `tenant`'s new home."""
    return f"{MOVING_MARK}{tenant.pk}"


def _plan(job: ProvisioningJob) -> dict[str, Any]:
    return job.payload


def _server(name: str) -> ServerConfig:
    return configured_servers()[name]


@contextmanager
def _connect(server: str, database: str, *, admin: bool = False, autocommit: bool = True) -> Iterator[PgConnection]:
    """Yield a direct connection to `database`; `admin` connects as TENANT_MOVE_ADMIN_USER (subscriptions)."""
    config = _server(server)
    overrides: dict[str, Any] = {}
    if admin and settings.TENANT_MOVE_ADMIN_USER:
        overrides = {"user": settings.TENANT_MOVE_ADMIN_USER, "password": settings.TENANT_MOVE_ADMIN_PASSWORD}
    conn = config.connect(database, application_name="tessera-move", autocommit=autocommit, **overrides)
    try:
        yield conn
    finally:
        conn.close()


def _source(job: ProvisioningJob, **kwargs: Any) -> Any:
    plan = _plan(job)
    return _connect(plan["source_server"], plan["source_database"], **kwargs)


def _target(job: ProvisioningJob, **kwargs: Any) -> Any:
    plan = _plan(job)
    return _connect(plan["server"], plan["database"], **kwargs)


def _save_plan(job: ProvisioningJob, **values: Any) -> None:
    job.payload = {**job.payload, **values}
    ProvisioningJob.objects.using(CONTROL_ALIAS).filter(pk=job.pk).update(payload=job.payload)


def step_create_target(tenant: Tenant, job: ProvisioningJob) -> None:
    """Clone the target's template under a free name, prove the schemas match, empty it."""
    plan = _plan(job)
    ensure_template(plan["server"])  # a server that never had a tenant may have no template yet
    with dbops.server_connection(plan["server"]) as conn:
        if dbops.database_comment(conn, plan["database"]) is None:
            dbops.create_database(conn, plan["database"], template=settings.TENANT_TEMPLATE_DB)
            dbops.set_comment(conn, plan["database"], moving_mark(tenant))
            dbops.apply_database_settings(conn, plan["database"])
        elif dbops.database_comment(conn, plan["database"]) != moving_mark(tenant):
            raise MoveFailed(f"database {plan['database']} on {plan['server']} belongs to someone else")
    with _source(job) as source, _target(job) as target:
        if replication.applied_migrations(source) != replication.applied_migrations(target):
            raise MoveFailed("the source database is not at the migration state of the target's template: "
                             "run migrate_tenants first")
        tables = replication.user_tables(source)
        if tables != replication.user_tables(target):
            raise MoveFailed("the source and target databases have different tables")
        replication.truncate_all(target, tables)
        replication.marker_create(target)


def step_publish(tenant: Tenant, job: ProvisioningJob) -> None:
    with _source(job) as source:
        replication.marker_create(source)
        replication.publication_create(source, replication.object_name(job.pk), replication.user_tables(source))


def step_subscribe(tenant: Tenant, job: ProvisioningJob) -> None:
    plan = _plan(job)
    info = replication.conninfo(_server(plan["source_server"]), plan["source_database"])
    with _target(job, admin=True) as target:
        try:
            replication.subscription_create(target, replication.object_name(job.pk), info)
        except psycopg2.Error as exc:  # the target connects to the source here: say which way failed
            raise MoveFailed(f"server {plan['server']} could not subscribe to {plan['source_database']} on "
                             f"{plan['source_server']}: {str(exc).strip()}") from exc


def step_copy(tenant: Tenant, job: ProvisioningJob) -> None:
    """Wait until every table is copied and streaming (the subscription's initial copy)."""
    name = replication.object_name(job.pk)
    deadline = time.monotonic() + settings.TENANT_MOVE_COPY_TIMEOUT_SECONDS
    with _target(job, admin=True) as target:
        while replication.copy_pending(target, name):
            _raise_on_errors(target, name)
            if time.monotonic() > deadline:
                raise MoveFailed(f"the copy did not finish within {settings.TENANT_MOVE_COPY_TIMEOUT_SECONDS:.0f}s")
            time.sleep(0.05)


def _raise_on_errors(target: PgConnection, name: str) -> None:
    if replication.subscription_errors(target, name):
        raise MoveFailed("the subscription reported errors (see the target server's log)")


def step_catch_up(tenant: Tenant, job: ProvisioningJob) -> None:
    """Let the target replay what was written during the copy, so the cutover only waits for the last writes."""
    name = replication.object_name(job.pk)
    with _source(job) as source, _target(job, admin=True) as target:
        token = replication.marker_send(source)
        replication.marker_wait(target, token, timeout=settings.TENANT_MOVE_COPY_TIMEOUT_SECONDS,
                                check=lambda: _raise_on_errors(target, name))


def step_cutover(tenant: Tenant, job: ProvisioningJob) -> None:
    """Block writes, wait for the last of them on the target, switch the tenant there, unblock.

    Every connection the blocked part needs is opened before the block: a
    connect forks a backend, which on a loaded server costs more than the
    whole switch.
    """
    plan = _plan(job)
    if (tenant.server_id, tenant.database) == (plan["server"], plan["database"]):
        return  # switched by an earlier run of this step
    with ExitStack() as stack:
        links = _Links(fence=stack.enter_context(_source(job, autocommit=False)),
                       source=stack.enter_context(_source(job)), target=stack.enter_context(_target(job)),
                       target_server=stack.enter_context(dbops.server_connection(plan["server"])),
                       replicas=stack.enter_context(replication.replica_connections(_server(plan["server"]))))
        tables = replication.user_tables(links.fence)
        started = time.perf_counter()
        writegate.writes_block(slug=tenant.slug)
        try:
            figures = _switch(tenant, plan, links, tables)
        finally:
            writegate.writes_unblock(slug=tenant.slug)
            blocked = time.perf_counter() - started
    with _target(job, admin=True) as admin:
        figures["applied_lsn"] = replication.latest_end_lsn(admin, replication.object_name(job.pk))
    _save_plan(job, cutover_seconds=round(blocked, 4), **figures)


@dataclass
class _Links:
    """The open connections of a cutover: the source's fence transaction, source, target, target server, replicas."""

    fence: PgConnection
    source: PgConnection
    target: PgConnection
    target_server: PgConnection
    replicas: list[PgConnection]


def _switch(tenant: Tenant, plan: dict[str, Any], links: _Links, tables: list[str]) -> dict[str, Any]:
    """Do the blocked part of the cutover; the source transaction commits only once the switch has."""
    replication.lock_for_cutover(links.fence, tables, lock_timeout_ms=settings.TENANT_MOVE_LOCK_TIMEOUT_MS)
    locked = time.perf_counter()
    final_lsn = replication.current_lsn(links.fence)
    token = replication.marker_send(links.source)
    replication.marker_wait(links.target, token, timeout=settings.TENANT_MOVE_CUTOVER_TIMEOUT_SECONDS)
    replication.sequences_set(links.target, replication.sequence_values(links.fence))
    caught_up = time.perf_counter()
    replicas_current = replication.replicas_wait(links.replicas, replication.current_lsn(links.target),
                                                 timeout=settings.TENANT_MOVE_CUTOVER_TIMEOUT_SECONDS)
    replication.revoke_writes(links.fence, _server(plan["source_server"]).user)
    dbops.set_comment(links.target_server, plan["database"], owner_mark(tenant))
    _control_switch(tenant, plan)
    resolution.invalidate()
    waiting = replication.terminate_waiters(links.fence)
    links.fence.commit()
    return {"final_lsn": final_lsn, "writes_cut_off": waiting, "target_replicas_current": replicas_current,
            "cutover_catch_up_seconds": round(caught_up - locked, 4)}


def _control_switch(tenant: Tenant, plan: dict[str, Any]) -> None:
    """Point the tenant at the target (compare-and-set on where it was)."""
    with transaction.atomic(using=CONTROL_ALIAS):
        switched = Tenant.objects.using(CONTROL_ALIAS).filter(
            pk=tenant.pk, server_id=plan["source_server"], database=plan["source_database"]).update(
            server_id=plan["server"], database=plan["database"], updated_at=timezone.now())
    if not switched:
        raise MoveFailed("the tenant changed servers meanwhile")
    tenant.server_id, tenant.database = plan["server"], plan["database"]


def step_cleanup(tenant: Tenant, job: ProvisioningJob) -> None:
    """Drop the subscription (and its slot on the source), the publication and both marker tables."""
    _replication_cleanup(job)


def _replication_cleanup(job: ProvisioningJob) -> None:
    name = replication.object_name(job.pk)
    plan = _plan(job)
    ours = (moving_mark(job.tenant), owner_mark(job.tenant))
    if dbops.database_comment(plan["server"], plan["database"]) in ours:  # never touch someone else's database
        with _target(job, admin=True) as target:
            replication.subscription_drop(target, name)
            replication.marker_drop(target)
    with _source(job, admin=True) as source:
        replication.slot_drop(source, name)
        replication.publication_drop(source, name)
        replication.marker_drop(source)


def step_retire(tenant: Tenant, job: ProvisioningJob) -> None:
    plan = _plan(job)
    retired.database_retire(tenant=tenant, server=plan["source_server"], database=plan["source_database"],
                            reason=JobKind.MOVE, job=job)


def move_plan(*, tenant: Tenant, server: str, job_id: int) -> dict[str, Any]:
    """Return where a move of `tenant` to `server` copies it: the tenant's database name, if free there."""
    name = tenant.database
    if dbops.database_exists(server, name):  # e.g. a retired copy from an earlier move
        name = f"{tenant.database[:50]}_m{job_id}"
    return {"source_server": tenant.server_id, "source_database": tenant.database, "server": server,
            "database": name}


STEPS = (("create_target", step_create_target), ("publish", step_publish), ("subscribe", step_subscribe),
         ("copy", step_copy), ("catch_up", step_catch_up), ("cutover", step_cutover),
         ("cleanup", step_cleanup), ("retire", step_retire))


def move_rollback(*, job: ProvisioningJob) -> str:
    """Undo a failed move; return what was done and what could not be (appended to the job's error).

    Before the switch: writes are unblocked, the replication objects and slot
    dropped and the half-built target dropped (owner-checked: only while it
    carries this move's mark). After it the tenant stays on the target; only
    the replication objects are cleaned.
    """
    tenant = Tenant.objects.using(CONTROL_ALIAS).get(pk=job.tenant_id)
    plan = _plan(job)
    if not plan.get("server"):
        return " (nothing to roll back)"
    problems = []
    writegate.writes_unblock(slug=tenant.slug)
    try:
        _replication_cleanup(job)
    except Exception as exc:
        logger.exception("move %s: replication cleanup failed", job.pk)
        problems.append(f"replication objects left ({exc}); see docs/operations.md, 'Cleaning a leftover slot'")
    if (tenant.server_id, tenant.database) == (plan["server"], plan["database"]):
        return _outcome(f"the tenant is on {plan['server']} already", problems)
    try:
        # The owner mark too: the cutover marks the target just before switching, and may fail in between.
        dbops.drop_owned_database(plan["server"], plan["database"], mark=(moving_mark(tenant), owner_mark(tenant)))
    except Exception as exc:
        problems.append(f"target database left ({exc})")
    return _outcome(f"rolled back: the tenant stays on {plan['source_server']}", problems)


def _outcome(done: str, problems: list[str]) -> str:
    return f" ({done}; " + "; ".join(problems) + ")" if problems else f" ({done})"

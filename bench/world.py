"""Tenants for the HTTP benchmarks (settings `bench.contenders.settings_on`).

A fresh control plane (`tessera_bench_http`) and tenant databases (`tbh_*`)
cloned from the server's template, or from an already seeded tenant database
when many tenants need the same rows (one clone is a file copy; seeding each
one through the ORM would be the slow part of the set-up).
"""

from __future__ import annotations

import time

import psycopg2
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from psycopg2 import sql

from bench.seed import seed
from core.dbservers import configured_servers
from routers import ensure_registered, tenant_context
from routers.spec import TenantSpec, database_name_for
from tenants import dbops, services
from tenants.models import Tenant, TenantStatus
from tenants.templates import ensure_template


def recreate_control() -> None:
    """Drop every bench tenant database, then recreate and migrate the control database."""
    connections.close_all()
    drop_tenant_databases()
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                            dbname=dbops.MAINTENANCE_DB)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            name = sql.Identifier(db["NAME"])
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        conn.close()
    call_command("migrate", database="default", verbosity=0, interactive=False)
    services.servers_sync()


def drop_tenant_databases() -> None:
    for server in configured_servers():
        for name in dbops.list_databases(server, settings.TENANT_DB_NAME_PREFIX):
            dbops.drop_database(server, name)


def tenants_create(slugs: list[str], server: str, *, source: str | None = None) -> list[TenantSpec]:
    """Clone one active tenant per slug on `server` from `source` (default: the template)."""
    ensure_template(server)
    specs = [TenantSpec(slug, server, database_name_for(slug, settings.TENANT_DB_NAME_PREFIX)) for slug in slugs]
    for spec in specs:
        dbops.create_database(server, spec.database, template=source or settings.TENANT_TEMPLATE_DB)
        dbops.apply_database_settings(server, spec.database)
    Tenant.objects.bulk_create(
        Tenant(slug=spec.slug, name=spec.slug, server_id=server, database=spec.database,
               admin_email=f"owner@{spec.slug}.test", status=TenantStatus.ACTIVE) for spec in specs)
    return specs


def tenant_seed(spec: TenantSpec, *, projects: int, tasks_per_project: int, direct: bool = False) -> list[int]:
    """Seed `spec`'s database (`direct`: bypassing PgBouncer, so it can serve as a clone source)."""
    ensure_registered(spec)
    with tenant_context(spec):
        ids = seed(projects=projects, tasks_per_project=tasks_per_project,
                   using=spec.direct_alias if direct else None)
    connections[spec.direct_alias].close()
    return ids


def wait_for_replicas(server: str, timeout: float = 10.0) -> None:
    """Wait until every replica of `server` has replayed the primary's current WAL position."""
    config = configured_servers()[server]
    if not config.replicas:
        return
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    for replica in config.replicas:
        with psycopg2.connect(host=replica.host, port=replica.port, user=config.user, password=config.password,
                              dbname=dbops.MAINTENANCE_DB) as conn, conn.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                if cursor.fetchone()[0] or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        conn.close()

"""The scale benchmark's fleet: thousands of tenant databases on one server, and what they cost it.

Set-up, never timed: databases are template clones made by a few threads at
once (a clone is a file copy on the server), their control-plane rows
bulk-inserted so `migrate_tenants` sees them, and a bench user with a known
token written straight into the databases that serve the hot set.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings

from core.dbservers import configured_servers
from infra.local import config
from tenants import dbops
from tenants.models import Tenant, TenantStatus

TOKEN = "scale0" + "0" * 34
CLONE_THREADS = 8
DROP_THREADS = 16  # a drop mostly waits for every backend to acknowledge it (a barrier): overlap them
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def database_for(slug: str) -> str:
    return settings.TENANT_DB_NAME_PREFIX + slug.replace("-", "_")


def fleet_create(slugs: list[str], server: str) -> None:
    """Clone one database per slug from the template on `server`, then insert their active tenant rows."""
    template = settings.TENANT_TEMPLATE_DB

    def clone(slug: str) -> None:
        with dbops.server_connection(server) as conn:
            dbops.create_database(conn, database_for(slug), template=template)

    with ThreadPoolExecutor(CLONE_THREADS) as pool:
        list(pool.map(clone, slugs))
    Tenant.objects.bulk_create(
        (Tenant(slug=slug, name=slug, server_id=server, database=database_for(slug),
                admin_email=f"o@{slug}.test", status=TenantStatus.ACTIVE) for slug in slugs), batch_size=1000)


def fleet_drop(server: str) -> int:
    """Drop every bench tenant database on `server` and the rows naming them; return how many."""
    names = dbops.list_databases(server, settings.TENANT_DB_NAME_PREFIX)

    def drop(name: str) -> None:
        with dbops.server_connection(server) as conn:
            dbops.drop_database(conn, name)

    with ThreadPoolExecutor(DROP_THREADS) as pool:
        list(pool.map(drop, names))
    Tenant.objects.filter(server_id=server).delete()
    return len(names)


def seed_token(slug: str, server: str) -> None:
    """Write a bench user and its token into `slug`'s database (one connection, one round trip)."""
    conn = configured_servers()[server].connect(database_for(slug), application_name="tessera-bench")
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "WITH u AS (INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
                "is_staff, is_active, date_joined) VALUES ('!', false, 'bench', '', '', 'bench@example.test', "
                "false, true, now()) RETURNING id) "
                "INSERT INTO authtoken_token (key, created, user_id) SELECT %s, now(), id FROM u", [TOKEN])
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _kib(pid: int, field: str, source: str) -> int:
    try:
        lines = Path(f"/proc/{pid}/{source}").read_text().splitlines()
    except OSError:
        return 0  # the backend exited while we looked
    return next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), 0)


def server_memory(name: str) -> dict[str, float]:
    """Return the memory of PostgreSQL server `name`: RSS and PSS summed over the postmaster and its children.

    RSS counts shared buffers once per process that touched them; PSS shares
    them out, so its sum is what the server really holds.
    """
    instance = next(i for i in config.PG_INSTANCES if i.name == name)
    postmaster = int((instance.data_dir / "postmaster.pid").read_text().split()[0])
    pids = [postmaster, *_children(postmaster)]
    rss = sum(_kib(pid, "VmRSS", "status") for pid in pids)
    pss = sum(_kib(pid, "Pss", "smaps_rollup") for pid in pids)
    return {"processes": len(pids), "rss_mib": rss / 1024, "pss_mib": pss / 1024}


def server_disk(server: str) -> dict[str, float]:
    """Return the on-disk size of the bench tenant databases on `server` and of its whole data directory."""
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(sum(pg_database_size(datname)), 0) FROM pg_database "
                       "WHERE starts_with(datname, %s)", [settings.TENANT_DB_NAME_PREFIX])
        count, size = cursor.fetchone()
        cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
        total = cursor.fetchone()[0]
    return {"databases": int(count), "tenant_databases_mib": int(size) / 2**20,
            "per_database_mib": int(size) / 2**20 / max(1, int(count)), "all_databases_mib": int(total) / 2**20}

"""What each database has applied, read without loading the migration graph per database.

The expected set of tenant migrations is computed once per process from the
files on disk (`tenants.templates.expected_migrations`). A database's state is
one query on `django_migrations` over a short direct connection, so checking
500 up-to-date databases costs 500 small queries, run in a thread pool.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg2
from django.conf import settings

from core.dbservers import configured_servers
from tenants.templates import expected_migrations


@dataclass(frozen=True)
class Target:
    """One tenant database to migrate."""

    label: str  # tenant slug
    server: str
    database: str


@dataclass(frozen=True)
class DatabaseState:
    target: Target
    pending: tuple[str, ...]  # expected but not applied, in dependency order
    unknown: tuple[str, ...]  # applied but not on disk (drift)
    error: str = ""


def applied_migrations(target: Target) -> set[tuple[str, str]]:
    server = configured_servers()[target.server]
    conn = psycopg2.connect(host=server.primary.host, port=server.primary.port, user=server.user,
                            password=server.password, dbname=target.database,
                            connect_timeout=settings.DB_CONNECT_TIMEOUT, application_name="tessera-migrate-check",
                            **dict(server.options))
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return set()
            cursor.execute("SELECT app, name FROM django_migrations")
            return {(app, name) for app, name in cursor.fetchall()}
    finally:
        conn.close()


def ordered_expected() -> list[tuple[str, str]]:
    """Expected tenant migrations in an order that respects dependencies."""
    from django.db.migrations.loader import MigrationLoader

    expected = expected_migrations()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    order: list[tuple[str, str]] = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key in expected and key not in order:
                order.append(key)
    return order


def database_state(target: Target, order: list[tuple[str, str]]) -> DatabaseState:
    try:
        applied = applied_migrations(target)
    except psycopg2.Error as exc:
        return DatabaseState(target, (), (), error=str(exc).strip())
    expected = set(order)
    pending = tuple(f"{a}.{n}" for a, n in order if (a, n) not in applied)
    tenant_apps = {app for app, _ in expected}
    unknown = tuple(sorted(f"{a}.{n}" for a, n in applied - expected if a in tenant_apps))
    return DatabaseState(target, pending, unknown)


def fleet_state(targets: list[Target], threads: int = 16) -> list[DatabaseState]:
    """Return every target's state, checked concurrently."""
    order = ordered_expected()
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(targets) or 1))) as pool:
        return list(pool.map(lambda t: database_state(t, order), targets))

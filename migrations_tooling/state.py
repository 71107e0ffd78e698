"""What each database has applied, read without loading the migration graph per database.

The expected set of tenant migrations is computed once per process from the
files on disk (`tenants.templates.expected_migrations`). A database's state is
one query on `django_migrations` over a short direct connection, so checking
500 up-to-date databases costs 500 small queries, run in a thread pool. A
template whose fingerprint comment is current is not even connected to (a
connection to a template blocks `CREATE DATABASE ... TEMPLATE`).
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg2
from psycopg2.extensions import connection as PgConnection

from core.dbservers import configured_servers
from migrations_tooling.plans import project_loader
from tenants import templates


class TargetKind(StrEnum):
    """What a fleet target is: a tenant's database, or a server's template."""

    TENANT = "tenant"
    TEMPLATE = "template"
    CONTROL = "control"


@dataclass(frozen=True)
class Target:
    """One database to migrate: a tenant's, or a server's template."""

    label: str  # tenant slug, or "template:<server>"
    server: str
    database: str
    kind: TargetKind = TargetKind.TENANT


@dataclass(frozen=True)
class DatabaseState:
    target: Target
    pending: tuple[str, ...]  # expected but not applied, in dependency order
    unknown: tuple[str, ...]  # applied but not on disk (drift)
    error: str = ""
    applied: frozenset[tuple[str, str]] = frozenset()
    rebuild: bool = False  # a missing template: built from scratch, not migrated
    stale: bool = False  # a template whose fingerprint is not the code's: refresh (or at least restamp) it

    @property
    def needs_work(self) -> bool:
        return bool(self.pending or self.error or self.rebuild or self.stale)


def template_target(server: str) -> Target:
    return Target(f"template:{server}", server, templates.template_name(), TargetKind.TEMPLATE)


def connect(target: Target, **extra: Any) -> PgConnection:
    """Open a direct connection (never through a pooler) to `target`'s database."""
    server = configured_servers()[target.server]
    return server.connect(target.database, application_name="tessera-migrate", autocommit=False, **extra)


def applied_migrations(target: Target) -> frozenset[tuple[str, str]]:
    """Return the (app, name) pairs recorded in `target`'s django_migrations (empty when it has none)."""
    conn = connect(target)
    try:
        with conn.cursor() as cursor:
            try:
                cursor.execute("SELECT app, name FROM django_migrations")
            except psycopg2.errors.UndefinedTable:
                return frozenset()
            return frozenset((app, name) for app, name in cursor.fetchall())
    finally:
        conn.close()


def ordered_expected() -> list[tuple[str, str]]:
    """Return the expected tenant migrations in an order that respects dependencies."""
    return _ordered(project_loader(), templates.expected_migrations())


@functools.lru_cache(maxsize=4)
def _ordered(loader: Any, expected: frozenset[tuple[str, str]]) -> list[tuple[str, str]]:
    order: dict[tuple[str, str], None] = {}
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key in expected:
                order.setdefault(key, None)
    return list(order)


def compare(target: Target, applied: frozenset[tuple[str, str]], order: list[tuple[str, str]],
            apps: set[str]) -> DatabaseState:
    """Return `target`'s state: what of `order` is missing, what of `apps` is unknown."""
    expected = set(order)
    pending = tuple(f"{a}.{n}" for a, n in order if (a, n) not in applied)
    unknown = tuple(sorted(f"{a}.{n}" for a, n in applied - expected if a in apps))
    return DatabaseState(target, pending, unknown, applied=applied)


def database_state(target: Target, order: list[tuple[str, str]]) -> DatabaseState:
    stale = False
    if target.kind == TargetKind.TEMPLATE:
        comment = templates.template_state(target.server)
        if comment == templates.fingerprint():
            return DatabaseState(target, (), ())
        if comment is None:
            return DatabaseState(target, tuple(f"{a}.{n}" for a, n in order), (), rebuild=True)
        stale = True
    try:
        applied = applied_migrations(target)
    except psycopg2.Error as exc:
        return DatabaseState(target, (), (), error=str(exc).strip(), stale=stale)
    state = compare(target, applied, order, {app for app, _ in order})
    return dataclasses.replace(state, stale=stale) if stale else state


def fleet_state(targets: list[Target], threads: int = 16) -> list[DatabaseState]:
    """Return every target's state, checked concurrently."""
    order = ordered_expected()
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(targets) or 1))) as pool:
        return list(pool.map(lambda t: database_state(t, order), targets))

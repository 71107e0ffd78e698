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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg2
from psycopg2.extensions import connection as PgConnection

from core.dbservers import configured_servers
from migrations_tooling import stamps
from migrations_tooling.targets import Target, TargetKind
from tenants import dbops, templates
from tenants.templates import TemplateStatus

APPLICATION_NAME = "tessera-migrate"
STATE_THREADS = 16


@dataclass(frozen=True)
class DatabaseState:
    """What one database has applied, against what the code expects."""

    target: Target
    pending: tuple[str, ...]  # expected but not applied, in dependency order
    unknown: tuple[str, ...]  # applied but not on disk (drift)
    error: str = ""
    applied: frozenset[tuple[str, str]] = frozenset()
    rebuild: bool = False  # a missing template: built from scratch, not migrated
    stale: bool = False  # a template whose fingerprint is not the code's: refresh (or at least restamp) it
    stamped: bool = False  # found current by its stamp (`stamps`), without connecting to it

    @property
    def needs_work(self) -> bool:
        return bool(self.pending or self.error or self.rebuild or self.stale)


def connect(target: Target, **extra: Any) -> PgConnection:
    """Open a direct connection (never through a pooler) to `target`'s database."""
    server = configured_servers()[target.server]
    return server.connect(target.database, application_name=APPLICATION_NAME, autocommit=False, **extra)


def applied_migrations(target: Target) -> frozenset[tuple[str, str]]:
    """Return the (app, name) pairs recorded in `target`'s django_migrations (empty when it has none)."""
    return dbops.applied_migrations(target.server, target.database, application_name=APPLICATION_NAME)


def compare(target: Target, applied: frozenset[tuple[str, str]], order: list[tuple[str, str]]) -> DatabaseState:
    """Return `target`'s state: what of `order` is missing, what is unknown in the apps `order` covers."""
    expected = set(order)
    apps = {app for app, _ in order}
    pending = tuple(f"{a}.{n}" for a, n in order if (a, n) not in applied)
    unknown = tuple(sorted(f"{a}.{n}" for a, n in applied - expected if a in apps))
    return DatabaseState(target, pending, unknown, applied=applied)


def database_state(target: Target, order: list[tuple[str, str]], *, stamped: bool = False) -> DatabaseState:
    """Return one target's state: current when `stamped` or a template's comment says so, else read."""
    stale = False
    if stamped:
        return DatabaseState(target, (), (), applied=frozenset(order), stamped=True)
    if target.kind == TargetKind.TEMPLATE:
        status = templates.template_status(target.server)
        if status == TemplateStatus.CURRENT:
            return DatabaseState(target, (), ())
        if status == TemplateStatus.MISSING:
            return DatabaseState(target, tuple(f"{a}.{n}" for a, n in order), (), rebuild=True)
        stale = True
    try:
        applied = applied_migrations(target)
    except psycopg2.Error as exc:
        return DatabaseState(target, (), (), error=str(exc).strip(), stale=stale)
    state = compare(target, applied, order)
    return dataclasses.replace(state, stale=stale) if stale else state


def fleet_state(targets: list[Target], order: list[tuple[str, str]], *, trust_stamps: bool = True,
                threads: int = STATE_THREADS) -> list[DatabaseState]:
    """Return every target's state against `order` (the expected migrations), checked concurrently.

    With `trust_stamps`, one query per server reads every tenant database's
    stamp, and only databases not stamped current are connected to.
    """
    servers = {t.server for t in targets if t.kind == TargetKind.TENANT} if trust_stamps else set()
    found = {server: stamps.server_stamps(server) for server in servers}

    current = stamps.stamp_of(order)

    def stamped(target: Target) -> bool:
        return target.kind == TargetKind.TENANT and found.get(target.server, {}).get(target.database) == current

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(targets) or 1))) as pool:
        return list(pool.map(lambda t: database_state(t, order, stamped=stamped(t)), targets))

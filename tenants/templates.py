"""Per-server template databases kept at the latest migration state: the one template service.

New tenants are born by `CREATE DATABASE ... TEMPLATE <template>`, a file-level
copy that takes milliseconds instead of replaying every migration. The app
never connects to a template except to rebuild it. Whether a template is
current is read without connecting to it: its comment carries a fingerprint
of the migrations it holds (`COMMENT ON DATABASE`). That comment is also the
template's owner mark: a rebuild drops a template (or a half-built one) only
when its comment says it is one, and refuses any other database under the name.

Everyone changes templates through this module: provisioning builds a missing
or stale one (`ensure_template`), fleet runs refresh one in place
(`template_refresh`, given the fleet's way to migrate a database, since the
fleet tooling sits above this package), and both stamp (`mark_current`) and
lock (`template_lock`) here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import lru_cache

from django.conf import settings
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
from psycopg2 import sql

from core.locks import LockPurpose, lock_key
from routers import Plane, drop_alias, plane_of, register_database
from tenants import dbops

logger = logging.getLogger("tessera.templates")
FINGERPRINT_PREFIX = "tessera-migrations:"
BUILD_MARK = "tessera-template-build"  # a template being built, until its fingerprint replaces it
TEMPLATE_MARKS = (FINGERPRINT_PREFIX, BUILD_MARK)  # a rebuild drops only databases marked so
LOCK_KEY = lock_key(LockPurpose.TEMPLATE_REBUILD)  # on the server's maintenance database


def expected_migrations() -> frozenset[tuple[str, str]]:
    """Return every (app, migration) a tenant database must have applied (cached per code state)."""
    planes = tuple((plane, tuple(labels)) for plane, labels in sorted(settings.DATABASE_PLANES.items()))
    return _expected(tuple(sorted(settings.MIGRATION_MODULES.items())), tuple(settings.INSTALLED_APPS), planes)


@lru_cache(maxsize=4)
def _expected(modules: tuple[tuple[str, str], ...], apps: tuple[str, ...],
              planes: tuple[tuple[str, tuple[str, ...]], ...]) -> frozenset[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return frozenset(
        key for key in loader.graph.nodes
        if plane_of(key[0]) in (Plane.TENANT, Plane.BOTH)
    )


def fingerprint(migrations: frozenset[tuple[str, str]] | None = None) -> str:
    keys = sorted(migrations if migrations is not None else expected_migrations())
    digest = hashlib.sha256("\n".join(f"{a}.{n}" for a, n in keys).encode()).hexdigest()[:32]
    return FINGERPRINT_PREFIX + digest


def template_name() -> str:
    return str(settings.TENANT_TEMPLATE_DB)


def template_state(server: str) -> str | None:
    """Return the template's fingerprint comment on `server` (None when missing)."""
    return dbops.database_comment(server, template_name())


class TemplateStatus(StrEnum):
    """Where a server's template stands against the code, read from its comment alone."""

    CURRENT = "current"  # its fingerprint is the code's
    STALE = "stale"  # some other fingerprint (or none): migrate in place, or at least restamp
    MISSING = "missing"  # no such database: build it


class RefreshOutcome(StrEnum):
    """What `template_refresh` did."""

    CURRENT = "current"  # nothing to do
    MIGRATED = "migrated"  # migrated in place and stamped
    REBUILT = "rebuilt"  # built from scratch
    FAILED = "failed"  # the in-place migration failed; the template is unchanged and unstamped


def template_status(server: str) -> TemplateStatus:
    """Return where `server`'s template stands, without connecting to it."""
    comment = template_state(server)
    if comment is None:
        return TemplateStatus.MISSING
    return TemplateStatus.CURRENT if comment == fingerprint() else TemplateStatus.STALE


def is_current(server: str) -> bool:
    return template_status(server) == TemplateStatus.CURRENT


def holds_exactly_expected(applied: frozenset[tuple[str, str]]) -> bool:
    """Say whether `applied` is the expected set: nothing missing, nothing unknown in the tenant apps."""
    expected = expected_migrations()
    apps = {app for app, _ in expected}
    return expected <= applied and not any(app in apps for app, _ in applied - expected)


def template_refresh(server: str, *, migrate_in_place: Callable[[], bool] | None = None) -> RefreshOutcome:
    """Bring `server`'s template to the code: migrate it in place when possible, else rebuild it.

    `migrate_in_place` applies the pending migrations to the template and
    says whether it succeeded; it runs under the template lock, so
    provisioning never clones a half-migrated template (it waits, then finds
    it current). A template left holding anything but the expected
    migrations is rebuilt from scratch; without `migrate_in_place` (a missing
    template, or one holding unknown migrations) it is rebuilt at once.
    """
    if migrate_in_place is not None:
        with template_lock(server):
            if is_current(server):
                return RefreshOutcome.CURRENT
            if not migrate_in_place():
                return RefreshOutcome.FAILED
            if holds_exactly_expected(dbops.applied_migrations(server, template_name())):
                mark_current(server)
                return RefreshOutcome.MIGRATED
    return RefreshOutcome.REBUILT if ensure_template(server) else RefreshOutcome.CURRENT


@contextmanager
def template_lock(server: str) -> Iterator[None]:
    """Hold `server`'s template lock: one process changes a template at a time."""
    with dbops.server_connection(server) as lock_conn, lock_conn.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", LOCK_KEY)
        try:
            yield
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", LOCK_KEY)


def ensure_template(server: str) -> bool:
    """Build or refresh `server`'s template when stale; return True if it was rebuilt."""
    if is_current(server):
        return False
    with template_lock(server):
        if is_current(server):
            return False  # another process rebuilt it while we waited
        _rebuild(server)
    return True


def mark_current(server: str) -> None:
    """Record that `server`'s template holds exactly the expected migrations (after migrating it)."""
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(template_name()), sql.Literal(fingerprint())))


def _rebuild(server: str) -> None:
    """Migrate an empty database, then swap it in for the template.

    Always from scratch: a copy of the old template could carry migrations that
    are no longer in the code (drift), and a rebuild is rare and sub-second.
    """
    name, build = template_name(), f"{template_name()}_build"
    with dbops.server_connection(server) as conn:
        dbops.drop_owned_database(conn, build, mark=TEMPLATE_MARKS, prefix=True)
        dbops.create_database(conn, build)
        dbops.set_comment(conn, build, BUILD_MARK)
    alias = register_database(f"template:{server}", server, build)
    try:
        call_command("migrate", database=alias, verbosity=0, interactive=False)
    finally:
        drop_alias(alias)
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        dbops.drop_owned_database(conn, name, mark=TEMPLATE_MARKS, prefix=True)
        cursor.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
            sql.Identifier(build), sql.Identifier(name)))
    mark_current(server)
    dbops.set_template_flag(server, name, is_template=True)
    logger.info("template %s on server %s rebuilt", name, server)

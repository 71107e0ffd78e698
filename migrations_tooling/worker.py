"""Migrate one tenant database (runs in a pool worker that set Django up once).

Direct connection (never through PgBouncer transaction pooling), a
per-database advisory lock, `lock_timeout` and `statement_timeout` with
retries and backoff, and every pending migration in one transaction when all
of them allow it (PostgreSQL DDL is transactional), so a database is either
fully migrated or untouched.
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import Any

from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, OperationalError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel, DeleteModel
from django.db.migrations.recorder import MigrationRecorder

from migrations_tooling.locks import DATABASE_LOCK
from migrations_tooling.state import Target
from routers import registry
from routers.planes import Plane, plane_of
from routers.spec import TenantSpec

LOCK_NOT_AVAILABLE = "55P03"


class DatabaseBusy(Exception):
    """Another process holds this database's migration lock."""


def migrate_database(target: Target, options: dict[str, Any]) -> dict[str, Any]:
    """Apply pending migrations to one database; never raises, reports."""
    started = time.perf_counter()
    spec = TenantSpec(target.label, target.server, target.database)
    registry.ensure_registered(spec)
    alias = spec.direct_alias
    retries = int(options.get("retries", settings.MIGRATE_LOCK_RETRIES))
    result: dict[str, Any] = {"label": target.label, "applied": [], "attempts": 0}
    try:
        for attempt in range(retries + 1):
            result["attempts"] = attempt + 1
            try:
                result["applied"] = _migrate(alias, options)
                result["status"] = "done"
                break
            except (DatabaseBusy, OperationalError) as exc:
                if not _retryable(exc) or attempt == retries:
                    raise
                time.sleep(min(2.0, 0.1 * 2 ** attempt))
    except Exception as exc:
        result.update(status="failed", error=f"{type(exc).__name__}: {str(exc).strip()}"[:4000])
    finally:
        connections[alias].close()
        registry.unregister(spec.slug)  # keep memory flat over thousands of databases
    result["duration_ms"] = int((time.perf_counter() - started) * 1000)
    return result


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, DatabaseBusy) or getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE


def _migrate(alias: str, options: dict[str, Any]) -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [DATABASE_LOCK])
        if not cursor.fetchone()[0]:
            raise DatabaseBusy("another process is migrating this database")
        cursor.execute("SELECT set_config('lock_timeout', %s, false)",
                       [f"{int(options.get('lock_timeout_ms', settings.MIGRATE_LOCK_TIMEOUT_MS))}ms"])
        cursor.execute("SELECT set_config('statement_timeout', %s, false)",
                       [f"{int(options.get('statement_timeout_ms', settings.MIGRATE_STATEMENT_TIMEOUT_MS))}ms"])
    try:
        return _apply(connection, alias)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [DATABASE_LOCK])


def _apply(connection: Any, alias: str) -> list[str]:
    executor = FleetExecutor(connection)
    targets = [key for key in executor.loader.graph.leaf_nodes()
               if plane_of(key[0]) in (Plane.TENANT, Plane.BOTH)]
    plan = executor.migration_plan(targets)
    if not plan:
        return []
    applied = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    state = executor.starting_state()
    if all(migration.atomic for migration, _ in plan):
        with transaction.atomic(using=alias):
            executor.migrate(targets, plan=plan, state=state)
    else:
        executor.migrate(targets, plan=plan, state=state)
    if any(isinstance(op, MODEL_OPERATIONS) for migration, _ in plan for op in migration.operations):
        with contextlib.suppress(DatabaseError):  # content types and permissions: refreshed by the next run
            emit_post_migrate_signal(0, False, alias)
    return applied


MODEL_OPERATIONS = (CreateModel, DeleteModel)


class FleetExecutor(MigrationExecutor):
    """A MigrationExecutor that reuses, across databases, what does not depend on the database.

    Django's executor loads the migration files, builds the graph and renders
    the project state for every database it migrates. Across a fleet those are
    the same: this process builds the graph once, and renders the starting
    state once per distinct set of applied migrations (each database gets a
    clone). Only the applied set is read per database.
    """

    _loader: MigrationLoader | None = None
    _loader_key: object = None
    _states: dict[frozenset[tuple[str, str]], Any] = {}

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = None
        self.loader = copy.copy(self._base_loader())
        self.loader.connection = connection
        self.loader.applied_migrations = self.recorder.applied_migrations()

    @classmethod
    def _base_loader(cls) -> MigrationLoader:
        key = tuple(sorted(settings.MIGRATION_MODULES.items()))
        if cls._loader is None or cls._loader_key != key:
            cls._loader, cls._loader_key, cls._states = MigrationLoader(None, ignore_no_migrations=True), key, {}
        return cls._loader

    def starting_state(self) -> Any:
        """The project state after this database's applied migrations (a clone of a cached render)."""
        if self.loader.replacements:
            return None  # squashed migrations: let Django work it out per database
        applied = frozenset(self.loader.applied_migrations)
        state = self._states.get(applied)
        if state is None:
            state = self._create_project_state(with_applied_migrations=True)
            state.apps  # noqa: B018 - render once (the expensive part)
            if len(self._states) < 8:
                self._states[applied] = state
        return state.clone()


# --- Pool plumbing ------------------------------------------------------------

# Settings a parent may have changed at runtime that spawned workers must see.
PROPAGATED_SETTINGS = ("MIGRATION_MODULES", "MIGRATE_LOCK_TIMEOUT_MS", "MIGRATE_STATEMENT_TIMEOUT_MS",
                       "MIGRATE_LOCK_RETRIES", "TENANT_DB_SERVERS")


def worker_settings() -> dict[str, Any]:
    return {name: getattr(settings, name) for name in PROPAGATED_SETTINGS}


def init_worker(overrides: dict[str, Any]) -> None:
    """Run once per spawned pool process: set Django up, reused for every database it migrates."""
    import django

    django.setup()
    for name, value in overrides.items():
        setattr(settings, name, value)


def run_one(args: tuple[Target, dict[str, Any]]) -> dict[str, Any]:
    return migrate_database(*args)

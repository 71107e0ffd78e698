"""Migrate one database (run by the pool's threads; one process, one Django set-up).

Every database is migrated over a direct connection (never through PgBouncer
transaction pooling), under the per-database advisory lock, with
`lock_timeout` and `statement_timeout`; busy databases, lock waits and
statement timeouts are retried with backoff, a bounded number of times.
Pending migrations run in one transaction when all of them allow it
(PostgreSQL DDL is transactional), so a database is either fully migrated or
untouched.

Two ways, same result:

* replay (`migrations_tooling.replay`, the common case): the run's planned SQL
  in one round trip;
* executor: Django's executor (`FleetExecutor`, sharing the graph and
  rendered states) on a Django connection, for plans that cannot be replayed
  (RunPython, non-atomic, introspecting operations) and databases whose state
  was not planned.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connections, transaction

from migrations_tooling.locks import DATABASE_LOCK
from migrations_tooling.plans import MODEL_OPERATIONS, FleetExecutor, PlanBook, migration_key, tenant_leaves
from migrations_tooling.replay import DatabaseBusy, replay
from migrations_tooling.state import Target, TargetKind
from routers import TenantSpec, drop_alias, ensure_registered, register_database, unregister

logger = logging.getLogger("tessera.migrations")
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.2, 5.0
RETRYABLE = {"55P03": "lock timeout", "57014": "statement timeout"}


def migrate_database(target: Target, plans: PlanBook, applied: frozenset[tuple[str, str]] | None = None, *,
                     to: tuple[str, str] | None = None, fake: bool = False) -> dict[str, Any]:
    """Apply pending migrations to one database (whose applied set was `applied` at planning); report.

    With `to`, migrate forwards or backwards to that migration; with `fake`,
    only record the change. Both go through Django's executor.
    """
    started = time.perf_counter()
    retries = int(settings.MIGRATE_LOCK_RETRIES)
    result: dict[str, Any] = {"label": target.label, "applied": [], "attempts": 0}
    try:
        for attempt in range(retries + 1):
            result["attempts"] = attempt + 1
            try:
                result["applied"] = (execute(target, to=to, fake=fake) if to or fake
                                     else migrate_once(target, plans, applied))
                result["status"] = "done"
                break
            except Exception as exc:
                if not retryable(exc) or attempt == retries:
                    raise
                delay = backoff(attempt)
                logger.warning("%s: %s, retry %d of %d in %.2fs", target.label, reason(exc), attempt + 1,
                               retries, delay)
                time.sleep(delay)
    except Exception as exc:
        result.update(status="failed", error=f"{type(exc).__name__}: {str(exc).strip()}"[:4000])
    result["duration_ms"] = int((time.perf_counter() - started) * 1000)
    return result


def reason(exc: BaseException) -> str | None:
    """Return why `exc` is worth a retry (busy database, lock or statement timeout), else None."""
    if isinstance(exc, DatabaseBusy):
        return "database busy"
    return RETRYABLE.get(getattr(exc, "pgcode", None) or getattr(exc.__cause__, "pgcode", None) or "")


def retryable(exc: BaseException) -> bool:
    return reason(exc) is not None


def backoff(attempt: int) -> float:
    """Return seconds to wait before retry `attempt + 1`: exponential, capped, jittered."""
    jitter = random.uniform(0.5, 1.0)  # noqa: S311 - spreads retries, not cryptography
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt) * jitter


def migrate_once(target: Target, plans: PlanBook, applied: frozenset[tuple[str, str]] | None = None) -> list[str]:
    """Replay the planned SQL when there is a plan for this database, else use Django's executor."""
    plan = replay(target, plans, applied)
    if plan is None:
        return execute(target)
    if plan.changes_models:
        post_migrate(target)
    return list(plan.migrations)


def execute(target: Target, *, to: tuple[str, str] | None = None, fake: bool = False) -> list[str]:
    """Migrate with Django's executor (to the code's leaves, or forwards/backwards to `to`).

    Everything runs in one transaction when all migrations are atomic; return
    what was applied ("app.name") or unapplied (`migration_key(..., backwards=True)`).
    """
    with direct_alias(target) as alias:
        connection = connections[alias]
        with transaction.atomic(using=alias):
            executor = _locked_executor(connection, transaction_lock=True)
            leaves = [to] if to else tenant_leaves(executor.loader)
            plan = executor.plan_to(leaves)
            atomic = all(migration.atomic for migration, _ in plan)
            if plan and atomic:
                _migrate(executor, leaves, plan, fake)
        if plan and not atomic:
            # A migration refuses a transaction (e.g. CREATE INDEX CONCURRENTLY): a
            # session lock, released when the connection closes, covers the run.
            executor = _locked_executor(connection, transaction_lock=False)
            plan = executor.plan_to(leaves)
            _migrate(executor, leaves, plan, fake)
        if not fake and any(isinstance(op, MODEL_OPERATIONS) for migration, _ in plan for op in migration.operations):
            _emit_post_migrate(alias)  # outside the migration's transaction: its failure must not undo it
        return [migration_key(migration, backwards=backwards) for migration, backwards in plan]


def _migrate(executor: FleetExecutor, leaves: list[tuple[str, str]], plan: list[tuple[Any, bool]],
             fake: bool) -> None:
    backwards = any(is_backwards for _, is_backwards in plan)
    state = None if backwards else executor.starting_state()  # backwards: Django renders what it needs
    executor.migrate(leaves, plan=plan, state=state, fake=fake)


def _locked_executor(connection: Any, *, transaction_lock: bool) -> FleetExecutor:
    """Take the database's lock and set the timeouts in one round trip; return an executor."""
    function = "pg_try_advisory_xact_lock" if transaction_lock else "pg_try_advisory_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s), set_config('lock_timeout', %s, %s), "
                       "set_config('statement_timeout', %s, %s)",
                       [*DATABASE_LOCK, f"{int(settings.MIGRATE_LOCK_TIMEOUT_MS)}ms", transaction_lock,
                        f"{int(settings.MIGRATE_STATEMENT_TIMEOUT_MS)}ms", transaction_lock])
        if not cursor.fetchone()[0]:
            raise DatabaseBusy("another process is migrating this database")
    return FleetExecutor(connection)  # reads the applied set under the lock


def post_migrate(target: Target) -> None:
    """Create content types and permissions for models a replayed plan created."""
    with direct_alias(target) as alias:
        _emit_post_migrate(alias)


def _emit_post_migrate(alias: str) -> None:
    with contextlib.suppress(DatabaseError):  # content types and permissions: refreshed by the next run
        emit_post_migrate_signal(0, False, alias)


@contextlib.contextmanager
def direct_alias(target: Target) -> Iterator[str]:
    """Register a direct alias for `target`, yield it, then close and forget it (memory stays flat)."""
    if target.kind == TargetKind.TEMPLATE:
        alias = register_database(f"template:{target.server}", target.server, target.database)
        try:
            yield alias
        finally:
            drop_alias(alias)
        return
    spec = TenantSpec(target.label, target.server, target.database)
    ensure_registered(spec)
    try:
        yield spec.direct_alias
    finally:
        unregister(spec.slug)

"""Replay a run's planned SQL on one database: the lock, the check and the change in one round trip.

A plan (see `plans`) is keyed by (server, applied set). The worker knows the
applied set each database had at planning, so it sends one simple query: a
guard that takes the database's transaction-level advisory lock and checks
that exactly that set is still applied, then the plan's SQL, then the
`django_migrations` inserts. PostgreSQL runs a multi-statement simple query
as one implicit transaction: all of it commits, or none of it. The timeouts
are set at connect time (`options`), not by extra statements.

If the database changed since planning, the guard fails with `CHANGED`; the
applied set is then read under the lock (two round trips) and the plan for
that set is used, if the run has one. Otherwise the caller falls back to
Django's executor, so no database is ever given SQL planned for another state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import psycopg2
from django.conf import settings

from migrations_tooling import stamps
from migrations_tooling.locks import DATABASE_LOCK
from migrations_tooling.planning import Plan, PlanBook
from migrations_tooling.state import connect
from migrations_tooling.targets import Target

BUSY, CHANGED = "TSBSY", "TSCHG"  # SQLSTATEs raised by guard_sql
LOCK_AND_READ = ("SELECT pg_try_advisory_xact_lock(%s, %s), "
                 "ARRAY(SELECT app || '.' || name FROM django_migrations)")


class DatabaseBusy(Exception):
    """Another process holds this database's migration lock."""


def timeout_options() -> str:
    return (f"-c lock_timeout={int(settings.MIGRATE_LOCK_TIMEOUT_MS)} "
            f"-c statement_timeout={int(settings.MIGRATE_STATEMENT_TIMEOUT_MS)}")


def replay(target: Target, plans: PlanBook, applied: frozenset[tuple[str, str]] | None = None) -> Plan | None:
    """Apply the planned SQL in one transaction and return the plan; None when the executor is needed.

    With `applied` (read at planning), one round trip does everything: a guard
    takes the lock and checks the applied set is still that one, then the SQL
    and the inserts run, all in the implicit transaction of one simple query.
    If the database changed since planning, the applied set is read under the
    lock and the matching plan (if any) is used.
    """
    conn = connect(target, options=timeout_options())
    try:
        plan = plans.get(target.server, applied) if applied is not None else None
        if not (plan and plan.replayable and plan.migrations and _replay_planned(conn, target, plan, applied or set())):
            plan = _replay_read(conn, target, plans)
    finally:
        conn.close()  # also rolls back and releases the lock when we return early
    return plan


def _after(plan: Plan, applied: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Return the applied set once `plan` has run on a database that had `applied`."""
    done = set(applied)
    for key in plan.migrations:
        app, name = key.split(".", 1)
        done.add((app, name))
    return done


def _replay_planned(conn: Any, target: Target, plan: Plan, applied: Iterable[tuple[str, str]]) -> bool:
    """Run guard + plan + stamp in one round trip; return False if the database changed since planning."""
    conn.autocommit = True  # a multi-statement simple query is one implicit transaction
    try:
        with conn.cursor() as cursor:
            cursor.execute("\n".join([guard_sql(applied), plan.script(),
                                       stamps.stamp_sql(target, _after(plan, applied))]))
    except psycopg2.Error as exc:
        if exc.pgcode == BUSY:
            raise DatabaseBusy("another process is migrating this database") from exc
        if exc.pgcode != CHANGED:
            raise
        return False
    finally:
        conn.autocommit = False
    return True


def _replay_read(conn: Any, target: Target, plans: PlanBook) -> Plan | None:
    """Lock, read the applied set, run the plan for it; None when there is no replayable plan."""
    with conn.cursor() as cursor:
        try:
            cursor.execute(LOCK_AND_READ, DATABASE_LOCK)
        except psycopg2.errors.UndefinedTable:
            return None  # never migrated: the executor creates django_migrations
        locked, rows = cursor.fetchone()
        if not locked:
            raise DatabaseBusy("another process is migrating this database")
        applied = _after(Plan(migrations=tuple(rows)), ())
        plan = plans.get(target.server, applied)
        if plan is None or not plan.replayable:
            return None
        if plan.migrations:
            cursor.execute(plan.script() + "\n" + stamps.stamp_sql(target, _after(plan, applied)))
    conn.commit()
    return plan


def applied_digest(applied: Iterable[tuple[str, str]]) -> str:
    """Return the md5 of the sorted "app.name" list, as `guard_sql` computes it in PostgreSQL."""
    return hashlib.md5(",".join(sorted(f"{a}.{n}" for a, n in applied)).encode(), usedforsecurity=False).hexdigest()


def guard_sql(applied: Iterable[tuple[str, str]]) -> str:
    """Return a statement that takes the database lock and fails unless exactly `applied` is applied."""
    return (
        "DO $guard$ BEGIN\n"
        f"IF NOT pg_try_advisory_xact_lock({int(DATABASE_LOCK[0])}, {int(DATABASE_LOCK[1])}) THEN\n"
        f"  RAISE EXCEPTION 'database busy' USING ERRCODE = '{BUSY}'; END IF;\n"
        "IF (SELECT md5(coalesce(string_agg(k, ',' ORDER BY k COLLATE \"C\"), '')) "
        "FROM (SELECT app || '.' || name AS k FROM django_migrations) m) "
        f"<> '{applied_digest(applied)}' THEN\n"
        f"  RAISE EXCEPTION 'applied migrations changed since planning' USING ERRCODE = '{CHANGED}'; END IF;\n"
        "END $guard$;")

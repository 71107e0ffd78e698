"""Advisory locks: one fleet run at a time, one migration per database at a time (keys: `core.locks`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from core.locks import LockPurpose, lock_key
from core.pgconnect import connect_alias
from migrations_tooling.errors import MigrationErrorCode

RUN_LOCK = lock_key(LockPurpose.FLEET_RUN)  # on the control database, held by the coordinator for the whole run
DATABASE_LOCK = lock_key(LockPurpose.TENANT_MIGRATION)  # on each tenant database, held while it migrates


class RunInProgress(ApiError):
    status_code = 409
    code = MigrationErrorCode.MIGRATION_RUN_IN_PROGRESS


@contextmanager
def fleet_lock() -> Iterator[None]:
    """Hold the global run lock on a dedicated control connection, or refuse clearly."""
    conn = connect_alias(CONTROL_ALIAS, application_name="tessera-migrate-lock")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", RUN_LOCK)
            if not cursor.fetchone()[0]:
                raise RunInProgress("Another migrate_tenants run is in progress; wait for it or resume it later.")
        yield
    finally:
        conn.close()  # releases the lock, also if this process dies


def run_lock_held() -> bool:
    """Return True when some session holds the global run lock (a run is alive)."""
    with connections[CONTROL_ALIAS].cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                       "AND classid = %s AND objid = %s AND objsubid = 2)", RUN_LOCK)
        return bool(cursor.fetchone()[0])

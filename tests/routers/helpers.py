"""Helpers for routing tests: replica control and PgBouncer inspection (real servers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from core.dbservers import configured_servers
from routers.runtime import runtime
from tests.conftest import wait_for


def superuser_query(port: int, sql: str, dbname: str = "postgres", password: str | None = None) -> list[tuple]:
    """Run `sql` as the superuser on a local instance (or, `dbname="pgbouncer"`, a pooler's console)."""
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, password=password)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


def replica_port() -> int:
    return configured_servers()["a"].replicas[0].port


def primary_port() -> int:
    return configured_servers()["a"].primary.port


def wait_replica_caught_up(timeout: float = 60.0, *, reset: bool = True) -> None:
    """Wait until server a's replica has replayed everything the primary wrote (then forget its status)."""
    target = superuser_query(primary_port(), "SELECT pg_current_wal_lsn()")[0][0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = superuser_query(replica_port(), f"SELECT pg_last_wal_replay_lsn() >= '{target}'")[0][0]
        if done:
            if reset:
                runtime.health.reset()
            return
        time.sleep(0.01)
    raise AssertionError("replica did not catch up")


@contextmanager
def replay_paused() -> Iterator[None]:
    """Pause WAL replay on server a's replica: a deterministic, growing lag."""
    wait_replica_caught_up()
    superuser_query(replica_port(), "SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        superuser_query(replica_port(), "SELECT pg_wal_replay_resume()")
        wait_replica_caught_up()


def pgbouncer_clients(pooler_port: int, database_prefix: str) -> int:
    """Count client connections PgBouncer holds for databases starting with a prefix."""
    conn = psycopg2.connect(host="127.0.0.1", port=pooler_port, user="postgres", password="postgres",
                            dbname="pgbouncer")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW CLIENTS")
            columns = [c.name for c in cursor.description]
            rows = [dict(zip(columns, row, strict=False)) for row in cursor.fetchall()]
    finally:
        conn.close()
    return sum(1 for row in rows if str(row["database"]).startswith(database_prefix))


def wait_pgbouncer_clients(pooler_port: int, database_prefix: str, expected: int, timeout: float = 30.0) -> None:
    """Wait until PgBouncer lists exactly `expected` clients for the prefix (it learns of a closed one
    asynchronously: on a busy machine a client closed a moment ago may still be listed)."""
    wait_for(lambda: pgbouncer_clients(pooler_port, database_prefix) == expected, timeout,
             f"PgBouncer listing {expected} clients of {database_prefix}")


def wait_pooler_reaches_replica(dbname: str, timeout: float = 60.0) -> None:
    """After a replica restart, wait until its PgBouncer serves `dbname` again (pools back off per database)."""
    pooler = configured_servers()["a"].replica_poolers[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = psycopg2.connect(host=pooler.host, port=pooler.port, user="tessera", password="tessera",
                                    dbname=dbname, connect_timeout=2)
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                return
            finally:
                conn.close()
        except psycopg2.Error:
            time.sleep(0.1)
    raise AssertionError("the replica's PgBouncer did not recover")


@contextmanager
def replica_cut_off() -> Iterator[None]:
    """Stop server a's replica from streaming (it keeps answering queries), then reconnect it."""
    from infra.local import config as infra_config
    from infra.local import postgres as infra_pg

    port = replica_port()
    conninfo = superuser_query(port, "SHOW primary_conninfo")[0][0]
    superuser_query(port, "ALTER SYSTEM SET primary_conninfo = ''")
    superuser_query(port, "SELECT pg_reload_conf()")
    try:
        wait_for(lambda: not superuser_query(port, "SELECT 1 FROM pg_stat_wal_receiver"), 10, "receiver stop")
        yield
    finally:
        escaped = conninfo.replace("'", "''")
        superuser_query(port, f"ALTER SYSTEM SET primary_conninfo = '{escaped}'")
        superuser_query(port, "SELECT pg_reload_conf()")
        infra_pg.wait_streaming(infra_config.PG_A_REPLICA)
        wait_replica_caught_up()


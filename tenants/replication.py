"""Logical replication between two tenant databases: the SQL a move needs, one function per statement.

Names are derived from the move job (`tessera_move_<job id>`) for the
publication (on the source), the subscription (on the target) and the
replication slot the subscription creates on the source, so a cleanup can
always find what a move left, even after its worker died. Every function
takes an open connection; identifiers are quoted with `psycopg2.sql`.

Catching up is proved with a *marker*: a one-row-per-token table
(`tessera_move_marker`) that is published with the tenant's tables. A token
inserted on the source and visible on the target means everything committed
on the source before it has been applied (one apply worker applies in commit
order). `pg_stat_subscription.latest_end_lsn` says the same only when the
apply worker next reports, which can be seconds on an idle database; the
marker answers within milliseconds, and the cutover records both.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection

from core.dbservers import ServerConfig

logger = logging.getLogger("tessera.provisioning")
MARKER_TABLE = "tessera_move_marker"
POLL_SECONDS = 0.005


class ReplicationError(Exception):
    """Logical replication could not be set up or did not catch up in time."""


def object_name(job_id: int) -> str:
    """Return the name of a move's publication, subscription and slot."""
    return f"tessera_move_{job_id}"


def conninfo(server: ServerConfig, database: str) -> str:
    """Return the libpq connection string the target uses to stream from `database` on `server`."""
    params = {"host": server.primary.host, "port": str(server.primary.port), "dbname": database,
              "user": server.user, "password": server.password, "application_name": "tessera-move",
              **dict(server.options)}
    return " ".join(f"{key}='{_quote(value)}'" for key, value in params.items())


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def user_tables(conn: PgConnection) -> list[str]:
    """Return the tenant's own tables in `public` (the marker excluded), sorted."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> %s "
                       "ORDER BY tablename", [MARKER_TABLE])
        return [row[0] for row in cursor.fetchall()]


def applied_migrations(conn: PgConnection) -> set[tuple[str, str]]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return {(app, name) for app, name in cursor.fetchall()}


def truncate_all(conn: PgConnection, tables: list[str]) -> None:
    """Empty a fresh clone of the template: the copy brings every row (content types included)."""
    if tables:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))


def marker_create(conn: PgConnection) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (token text PRIMARY KEY, at timestamptz "
                               "NOT NULL DEFAULT now())").format(sql.Identifier(MARKER_TABLE)))


def marker_drop(conn: PgConnection) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(MARKER_TABLE)))


def publication_create(conn: PgConnection, name: str, tables: list[str]) -> None:
    """Publish `tables` and the marker (idempotent: an existing publication is kept)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [name])
        if cursor.fetchone():
            return
        cursor.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
            sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, [*tables, MARKER_TABLE]))))


def publication_drop(conn: PgConnection, name: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))


def subscription_create(conn: PgConnection, name: str, source: str) -> None:
    """Subscribe to publication `name` at `source` (a conninfo); copy existing rows, then stream.

    The subscriber connects to the source here (to create the slot): a source
    it cannot reach fails now, with libpq's reason, before anything is copied.
    """
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
        if cursor.fetchone():
            return
        cursor.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} "
                               "WITH (copy_data = true, slot_name = {})").format(
            sql.Identifier(name), sql.Literal(source), sql.Identifier(name), sql.Literal(name)))


def subscription_drop(conn: PgConnection, name: str) -> None:
    """Drop the subscription and, through it, its slot on the source.

    When the source cannot be reached the subscription is detached from its
    slot first (so the drop succeeds); the caller then drops the slot on the
    source itself (`slot_drop`).
    """
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_subscription WHERE subname = %s", [name])
        if cursor.fetchone() is None:
            return
        try:
            cursor.execute(sql.SQL("DROP SUBSCRIPTION {}").format(sql.Identifier(name)))
        except Exception:
            cursor.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("DROP SUBSCRIPTION {}").format(sql.Identifier(name)))


def slot_exists(conn: PgConnection, name: str) -> bool:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [name])
        return cursor.fetchone() is not None


def slot_drop(conn: PgConnection, name: str) -> None:
    """Drop replication slot `name` if it exists: a leftover slot holds the source's WAL forever."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                       "WHERE slot_name = %s AND active_pid IS NOT NULL", [name])
        cursor.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                       "WHERE slot_name = %s", [name])


def copy_pending(conn: PgConnection, name: str) -> int:
    """Return how many tables of subscription `name` are not yet copied and streaming (state `r`)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid "
                       "WHERE s.subname = %s AND r.srsubstate <> 'r'", [name])
        return int(cursor.fetchone()[0])


def subscription_errors(conn: PgConnection, name: str) -> int:
    """Return how many apply or copy errors subscription `name` has hit (a failing copy retries forever)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT coalesce(apply_error_count + sync_error_count, 0) FROM pg_stat_subscription_stats "
                       "WHERE subname = %s", [name])
        row = cursor.fetchone()
        return int(row[0]) if row else 0


def latest_end_lsn(conn: PgConnection, name: str) -> str | None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT latest_end_lsn::text FROM pg_stat_subscription WHERE subname = %s "
                       "AND relid IS NULL", [name])
        row = cursor.fetchone()
        return row[0] if row else None


def current_lsn(conn: PgConnection) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return str(cursor.fetchone()[0])


def marker_send(conn: PgConnection) -> str:
    """Insert a new token in the source's marker table (autocommit); return it."""
    token = uuid.uuid4().hex
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("INSERT INTO {} (token) VALUES (%s)").format(sql.Identifier(MARKER_TABLE)), [token])
    return token


def marker_wait(conn: PgConnection, token: str, *, timeout: float, check: Callable[[], None] | None = None) -> None:
    """Wait until `token` is visible on the target; raise ReplicationError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    query = sql.SQL("SELECT 1 FROM {} WHERE token = %s").format(sql.Identifier(MARKER_TABLE))
    with conn.cursor() as cursor:
        while True:
            cursor.execute(query, [token])
            if cursor.fetchone():
                return
            if time.monotonic() > deadline:
                raise ReplicationError(f"the target did not catch up within {timeout:g}s")
            if check:
                check()
            time.sleep(POLL_SECONDS)


@contextmanager
def replica_connections(server: ServerConfig) -> Iterator[list[PgConnection]]:
    """Yield a connection to each streaming replica of `server` that answers (one that is down is skipped)."""
    conns = []
    try:
        for endpoint in server.replicas:
            try:
                conns.append(server.connect("postgres", application_name="tessera-move", endpoint=endpoint))
            except psycopg2.OperationalError:  # the router skips a replica that is down too
                logger.warning("move: replica %s of %s is unreachable", endpoint, server.name)
        yield conns
    finally:
        for conn in conns:
            conn.close()


def replicas_wait(replicas: list[PgConnection], lsn: str, *, timeout: float) -> bool:
    """Wait until every replica has replayed `lsn`; False if one did not in time.

    Read-after-write tokens are kept per server: a client that wrote on the
    source holds none for the target, so the target's replicas must have the
    copied rows before the first read is routed to them.
    """
    deadline = time.monotonic() + timeout
    for conn in replicas:
        with conn.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() > deadline:
                    return False
                time.sleep(POLL_SECONDS)
    return True


def sequence_values(conn: PgConnection) -> list[tuple[str, int | None]]:
    """Return each sequence of `public` with its last value (None: never used)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' "
                       "ORDER BY sequencename")
        return [(name, value) for name, value in cursor.fetchall()]


def sequences_set(conn: PgConnection, values: list[tuple[str, int | None]]) -> None:
    """Set the target's sequences to the source's values in one statement (logical replication skips them)."""
    if not values:
        return
    calls = [sql.SQL("setval({}::regclass, {}, {})").format(
        sql.Literal(sql.Identifier("public", name).as_string(conn)),
        sql.Literal(value if value is not None else 1), sql.Literal(value is not None))
        for name, value in values]
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(calls)))


def lock_for_cutover(conn: PgConnection, tables: list[str], *, lock_timeout_ms: int) -> None:
    """In `conn`'s open transaction, wait for running writes to end and hold off new ones (reads go on).

    SHARE mode conflicts with every row write (ROW EXCLUSIVE) and with no read.
    """
    with conn.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"])
        cursor.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
            sql.SQL(", ").join(map(sql.Identifier, tables))))


def revoke_writes(conn: PgConnection, role: str) -> None:
    """Take write privileges on every table from `role` (in `conn`'s transaction).

    Privileges are checked at each statement, so from the commit on, any
    session still pointed at the old database (a process that has not seen
    the switch yet, a write queued behind the cutover's locks) is refused
    instead of writing where nobody will read.
    """
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM {}")
                       .format(sql.Identifier(role)))


def terminate_waiters(conn: PgConnection) -> int:
    """End the sessions waiting on this session's locks (writes that must not land on the old database)."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
        return int(cursor.fetchone()[0])

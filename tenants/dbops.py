"""Server-level database operations: create, clone, drop (direct connections, autocommit).

Identifiers are validated by `routers.spec` and always quoted with
`psycopg2.sql.Identifier`; nothing user-supplied is ever formatted into SQL.
Each operation takes a server name (it opens and closes its own connection)
or an open connection from `server_connection`, so a sequence of operations
can share one connection (each connect forks a PostgreSQL backend).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeAlias

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection
from psycopg2.extensions import cursor as PgCursor

from core.dbservers import ServerConfig, configured_servers
from routers import database_settings_sql

logger = logging.getLogger("tessera.provisioning")
MAINTENANCE_DB = "postgres"
Target: TypeAlias = str | PgConnection  # a server name, or an open autocommit connection to its primary


@contextmanager
def server_connection(server: str | ServerConfig) -> Iterator[PgConnection]:
    """Yield an autocommit connection to a server's primary (never through a pooler)."""
    config = configured_servers()[server] if isinstance(server, str) else server
    conn = config.connect(MAINTENANCE_DB, application_name="tessera-provisioning")
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def _cursor(target: Target) -> Iterator[PgCursor]:
    if isinstance(target, str):
        with server_connection(target) as conn, conn.cursor() as cursor:
            yield cursor
    else:
        with target.cursor() as cursor:
            yield cursor


def database_exists(server: Target, name: str) -> bool:
    with _cursor(server) as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def create_database(server: Target, name: str, *, template: str | None = None) -> None:
    """Create `name` on `server`, cloned from `template` when given."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template))
    with _cursor(server) as cursor:
        cursor.execute(statement)


class OwnerMismatch(Exception):
    """A destructive step found a database whose owner mark is not the one it was told to destroy."""


def drop_owned_database(server: Target, name: str, *, mark: str | tuple[str, ...], prefix: bool = False) -> bool:
    """Drop `name` on `server` only if its comment is `mark`; return True if it was dropped.

    `mark` may be several accepted marks; with `prefix` the comment must start
    with one of them (a template's mark carries a fingerprint after its
    prefix). A missing database is already gone (the step is idempotent:
    False). A database with any other comment, or none, belongs to someone
    else (a tenant re-created under the same name, a template, a database
    Tessera did not create): raise OwnerMismatch and leave it alone. The check
    and the drop share one connection.
    """
    marks = (mark,) if isinstance(mark, str) else mark
    with _cursor(server) as cursor:
        comment = _comment(cursor, name)
        if comment is None:
            return False
        if not (comment.startswith(marks) if prefix else comment in marks):
            logger.error("refused to drop %s: its owner mark is %r, not %r", name, comment, marks)
            raise OwnerMismatch(f"database {name} is marked {comment!r}, not {' or '.join(marks)!r}: "
                                "refusing to drop it")
        _drop(cursor, name)
    return True


def drop_database(server: Target, name: str) -> None:
    """Drop `name` on `server` if it exists, whoever owns it (test and benchmark set-up only).

    Production code drops through `drop_owned_database`, which proves the
    owner mark first (an architecture test checks that).
    """
    with _cursor(server) as cursor:
        _drop(cursor, name)


def _drop(cursor: PgCursor, name: str) -> None:
    """Drop `name` if it exists (templates too), disconnecting its sessions first."""
    cursor.execute("SELECT datistemplate FROM pg_database WHERE datname = %s", [name])
    row = cursor.fetchone()
    if row is None:
        return
    if row[0]:
        cursor.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def set_template_flag(server: Target, name: str, *, is_template: bool) -> None:
    """Mark a database as a template (clonable, refuses connections when not allowed)."""
    with _cursor(server) as cursor:
        cursor.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE {}").format(
            sql.Identifier(name), sql.Literal(is_template)))


def apply_database_settings(server: Target, name: str) -> None:
    """Set per-database timeouts at their defaults (a tenant's plan: `tenants.limits`)."""
    execute_all(server, [sql.SQL(statement) for statement in database_settings_sql(name)])


def execute_all(server: Target, statements: list[sql.Composable]) -> None:
    """Run `statements` on `server`'s maintenance connection, in order (autocommit)."""
    with _cursor(server) as cursor:
        for statement in statements:
            cursor.execute(statement)


def list_databases(server: Target, prefix: str) -> list[str]:
    """Return the names of the databases on `server` that start with `prefix`."""
    return sorted(database_comments(server, prefix))


def database_comments(server: Target, prefix: str) -> dict[str, str]:
    """Map each database on `server` starting with `prefix` to its comment ("" when none)."""
    with _cursor(server) as cursor:
        cursor.execute(
            "SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
            "WHERE starts_with(datname, %s)", [prefix])
        return dict(cursor.fetchall())


def database_comment(server: Target, name: str) -> str | None:
    """Return the comment of database `name` ("" when none), or None when it does not exist."""
    with _cursor(server) as cursor:
        return _comment(cursor, name)


def _comment(cursor: PgCursor, name: str) -> str | None:
    cursor.execute("SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                   "WHERE datname = %s", [name])
    row = cursor.fetchone()
    return None if row is None else str(row[0])


def set_comment(server: Target, name: str, comment: str) -> None:
    """Set the comment of database `name` (it records which tenant owns the database)."""
    with _cursor(server) as cursor:
        cursor.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(comment)))


def applied_migrations(server: str, name: str, *,
                       application_name: str = "tessera-provisioning") -> frozenset[tuple[str, str]]:
    """Return the (app, name) pairs in database `name`'s django_migrations (empty when it has none).

    One connection, one query: the fleet reads every database's state this way.
    """
    conn = configured_servers()[server].connect(name, application_name=application_name)
    try:
        with conn.cursor() as cursor:
            try:
                cursor.execute("SELECT app, name FROM django_migrations")
            except psycopg2.errors.UndefinedTable:
                return frozenset()
            return frozenset((app, migration) for app, migration in cursor.fetchall())
    finally:
        conn.close()

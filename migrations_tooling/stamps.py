"""A per-database stamp of the applied tenant migrations, read for a whole server in one query.

A no-op fleet run over thousands of databases used to open one connection
per database to read `django_migrations`; opening the connection is most of
the cost. The stamp is a per-database setting (`ALTER DATABASE ... SET
tessera.migrations = '<fingerprint>'`), which PostgreSQL keeps in the shared
catalog `pg_db_role_setting`: one query on the server's maintenance database
reads the stamps of every database on it. A database whose stamp is the
code's fingerprint is current and is not connected to.

The stamp is written in the same transaction as a replayed migration, by the
run for every database it read and found current, and cleared before
Django's executor touches a database (so a half-done executor run leaves no
stamp). Clones never inherit it (`CREATE DATABASE ... TEMPLATE` does not copy
per-database settings). A change made outside the fleet tooling (a hand-run
`migrate --database`) does not update it: `migrate_tenants --check-drift`
ignores stamps and reads every database.

Setting a custom parameter needs `GRANT SET ON PARAMETER tessera.migrations
TO <app user>` (PostgreSQL 15) on each server; a server without the grant is
simply never stamped, and its databases are read as before.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import islice

from core.dbservers import configured_servers
from migrations_tooling.targets import Target
from tenants import dbops, templates

SETTING = "tessera.migrations"
BATCH = 500  # ALTER DATABASE statements per round trip when stamping many databases


def stamp_of(applied: Iterable[tuple[str, str]]) -> str:
    """Return the stamp of an applied set: the fingerprint of its migrations in the tenant apps."""
    apps = {app for app, _ in templates.expected_migrations()}
    return templates.fingerprint(frozenset(key for key in applied if key[0] in apps))


def _ident(database: str) -> str:
    return '"' + database.replace('"', '""') + '"'


def stamp_sql(target: Target, applied: Iterable[tuple[str, str]]) -> str:
    """Return the statement that stamps `target` with `applied` ("" when its server refuses stamps)."""
    if not stampable(target.server):
        return ""
    return f"ALTER DATABASE {_ident(target.database)} SET {SETTING} = '{stamp_of(applied)}';"


@functools.lru_cache(maxsize=16)
def stampable(server: str) -> bool:
    """Say whether this process may stamp databases on `server` (the grant is there; read once)."""
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT has_parameter_privilege(current_user, %s, 'SET')", [SETTING])
        return bool(cursor.fetchone()[0])


def server_stamps(server: str) -> dict[str, str]:
    """Map each stamped database on `server` to its stamp (one query on the maintenance database)."""
    if not stampable(server):
        return {}
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT d.datname, c FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, "
                       "unnest(s.setconfig) AS c WHERE s.setrole = 0 AND starts_with(c, %s)", [SETTING + "="])
        return {name: config.split("=", 1)[1] for name, config in cursor.fetchall()}


def clear(target: Target) -> None:
    """Remove `target`'s stamp (before a migration that cannot write it in its own transaction)."""
    if not stampable(target.server):
        return
    with dbops.server_connection(target.server) as conn, conn.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {_ident(target.database)} RESET {SETTING}")


def stamp_current(targets: list[Target]) -> None:
    """Stamp `targets`, each read and found holding exactly the expected migrations, as current."""
    expected = templates.expected_migrations()
    for server in configured_servers():
        statements = iter(stamp_sql(t, expected) for t in targets if t.server == server)
        if not stampable(server):
            continue
        with dbops.server_connection(server) as conn, conn.cursor() as cursor:
            while batch := list(islice(statements, BATCH)):
                cursor.execute("\n".join(batch))

"""Run PostgreSQL's client tools (pg_dump, pg_restore) against a tenant database server.

The tools must be at least as new as the server they talk to: the binaries are
picked per server from its major version (`/usr/lib/postgresql/<v>/bin`, the
Debian layout; the newest installed one otherwise), or taken from `PG_BIN_DIR`.
They connect to the server's primary directly (a dump through PgBouncer's
transaction pooling would lose its snapshot), with the server's URL options
and password passed in the environment, never on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from core.dbservers import ServerConfig, configured_servers
from tenants import dbops

DEBIAN_ROOT = Path("/usr/lib/postgresql")
LIBPQ_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
             "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


class ToolFailed(Exception):
    """A client tool exited with an error; the message carries the end of its output."""


def server_major(server: str) -> int:
    """Return the PostgreSQL major version of `server`'s primary."""
    with dbops.server_connection(server) as conn, conn.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


@lru_cache(maxsize=16)
def tool(name: str, major: int) -> str:
    """Return the path of client tool `name` able to talk to a server of version `major`."""
    if settings.PG_BIN_DIR:
        return str(Path(settings.PG_BIN_DIR) / name)
    exact = DEBIAN_ROOT / str(major) / "bin" / name
    if exact.exists():
        return str(exact)
    newer = sorted((p for p in DEBIAN_ROOT.glob(f"*/bin/{name}") if _version(p) >= major), key=_version)
    if newer:
        return str(newer[0])
    found = shutil.which(name)
    if found is None:
        raise ToolFailed(f"{name} for PostgreSQL {major} not found: install it or set PG_BIN_DIR")
    return found


def _version(path: Path) -> int:
    name = path.parent.parent.name
    return int(name) if name.isdigit() else 0


def tool_for(server: str, name: str) -> str:
    """Return the path of `name` for `server`'s version."""
    return tool(name, server_major(server))


def libpq_env(config: ServerConfig, dbname: str, application_name: str) -> dict[str, str]:
    """Return the environment that points a client tool at `dbname` on the server's primary."""
    env = {**os.environ, "PGHOST": config.primary.host, "PGPORT": str(config.primary.port),
           "PGUSER": config.user, "PGPASSWORD": config.password, "PGDATABASE": dbname,
           "PGAPPNAME": application_name, "PGCONNECT_TIMEOUT": str(settings.DB_CONNECT_TIMEOUT)}
    for key, value in config.options:
        if key in LIBPQ_ENV:
            env[LIBPQ_ENV[key]] = value
    return env


def dump_to_file(*, server: str, database: str, path: Path) -> None:
    """Write a consistent `pg_dump -Fc` of `database` to `path` (one snapshot; the tenant keeps serving)."""
    env = libpq_env(configured_servers()[server], database, "tessera-backup")
    run([tool_for(server, "pg_dump"), "--format=custom", f"--compress={settings.BACKUP_COMPRESS_LEVEL}", "--no-owner",
         "--no-acl", f"--file={path}"], env=env)


def restore_from_file(*, server: str, database: str, path: Path) -> None:
    """Load the dump at `path` into the (empty) `database`, stopping at the first error."""
    env = libpq_env(configured_servers()[server], database, "tessera-restore")
    run([tool_for(server, "pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
         f"--dbname={database}", str(path)], env=env)


def restore_list_command(server: str) -> list[str]:
    """Return the command that reads an archive from stdin and lists its contents (a restorability check)."""
    return [tool_for(server, "pg_restore"), "--list"]


def run(command: list[str], *, env: dict[str, str]) -> None:
    """Run `command`; raise ToolFailed with the end of its error output when it fails."""
    proc = subprocess.run(command, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,  # noqa: S603
                          check=False)
    if proc.returncode:
        raise ToolFailed(f"{Path(command[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}")

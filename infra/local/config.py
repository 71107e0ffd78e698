"""Where the local services live and which loopback ports they use.

Everything is derived from two environment variables so that two checkouts on
one machine can run side by side: ``TESSERA_LOCAL_DIR`` (default ``.local`` in
the repository) and ``TESSERA_PORT_BASE`` (default 54300). The defaults match
the defaults in ``core/settings/`` and ``docs/configuration.md``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_DIR = Path(os.environ.get("TESSERA_LOCAL_DIR", str(ROOT / ".local"))).resolve()
PORT_BASE = int(os.environ.get("TESSERA_PORT_BASE", "54300"))

# The per-server cap on PostgreSQL server connections held by each PgBouncer
# (same variable and default as the Django setting, read by the pool benchmarks).
# Sized for a hot set of 1,000 tenants a server (docs/deployment.md, "Sizing").
SERVER_CONNECTIONS_MAX = int(os.environ.get("TENANT_SERVER_CONNECTIONS_MAX", "1000"))
# PostgreSQL's max_connections: the cap plus room for what does not go through the
# pooler (migrations, moves, backups, replication, the admin console, the tests).
DIRECT_CONNECTIONS_ROOM = 200
# How long PgBouncer keeps an idle server connection. It has to outlast the time
# between two requests of one tenant in the hot set, or every visit pays a backend
# start; at the cap PgBouncer evicts the longest-idle one of another database anyway.
SERVER_IDLE_SECONDS = int(os.environ.get("PGBOUNCER_SERVER_IDLE_TIMEOUT", "300"))

APP_USER = "tessera"
APP_PASSWORD = "tessera"  # noqa: S105 - local loopback-only cluster
SUPERUSER = "postgres"
CONTROL_DB = "tessera_control"


@dataclass(frozen=True)
class PgInstance:
    """One local PostgreSQL instance (a primary or a streaming replica)."""

    name: str
    port: int
    pooler_port: int
    primary_of: str | None = None  # name of the primary this instance replicates

    @property
    def data_dir(self) -> Path:
        return LOCAL_DIR / "pg" / self.name

    @property
    def log_file(self) -> Path:
        return LOCAL_DIR / "log" / f"pg-{self.name}.log"

    @property
    def is_replica(self) -> bool:
        return self.primary_of is not None


PG_A = PgInstance("a", PORT_BASE + 20, PORT_BASE + 25)
PG_A_REPLICA = PgInstance("a-replica", PORT_BASE + 21, PORT_BASE + 26, primary_of="a")
PG_B = PgInstance("b", PORT_BASE + 30, PORT_BASE + 35)
PG_INSTANCES = (PG_A, PG_A_REPLICA, PG_B)

REDIS_PORT = PORT_BASE + 79
WEB_PORT = int(os.environ.get("TESSERA_WEB_PORT", "8000"))

RUN_DIR = LOCAL_DIR / "run"
LOG_DIR = LOCAL_DIR / "log"


def server_spec() -> str:
    """Return the ``TENANT_DB_SERVERS`` value that describes the local servers."""
    cred = f"{APP_USER}:{APP_PASSWORD}"
    a = (
        f"a=postgres://{cred}@127.0.0.1:{PG_A.port},replicas=127.0.0.1:{PG_A_REPLICA.port},"
        f"pooler=127.0.0.1:{PG_A.pooler_port},"
        f"replica_poolers=127.0.0.1:{PG_A_REPLICA.pooler_port}"
    )
    b = f"b=postgres://{cred}@127.0.0.1:{PG_B.port},pooler=127.0.0.1:{PG_B.pooler_port}"
    return f"{a};{b}"


def service_env() -> dict[str, str]:
    """Return the environment that points Django at the local services."""
    cred = f"{APP_USER}:{APP_PASSWORD}"
    return {
        "DATABASE_URL": f"postgres://{cred}@127.0.0.1:{PG_A.port}/{CONTROL_DB}",
        "DATABASE_REPLICA_URL": f"postgres://{cred}@127.0.0.1:{PG_A_REPLICA.port}/{CONTROL_DB}",
        "TENANT_DB_SERVERS": server_spec(),
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
        # PostgreSQL 15 lets only a superuser create a subscription (a tenant move); trusted on loopback.
        "TENANT_MOVE_ADMIN_USER": SUPERUSER,
        # The app rewrites each pooler's [databases] include (pool sizes by plan) and RELOADs it.
        "PGBOUNCER_DATABASES_FILES": json.dumps(pooler_include_files()),
        "PGBOUNCER_ADMIN_USER": SUPERUSER,
        "PGBOUNCER_ADMIN_PASSWORD": SUPERUSER,
    }


def pooler_include_files() -> dict[str, str]:
    """Map each pooler, named as `manage.py pgbouncer_config` names it, to its include file."""
    names = {PG_A.name: "a", PG_A_REPLICA.name: "a-replica0", PG_B.name: "b"}
    return {names[i.name]: str(LOCAL_DIR / "pgbouncer" / i.name / "databases.ini") for i in PG_INSTANCES}

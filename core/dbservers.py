"""Parse `TENANT_DB_SERVERS`: the PostgreSQL servers that hold tenant databases.

Format, one entry per server separated by `;`::

    name=postgres://user:password@host:port[?sslmode=...]
        [,replicas=host:port|host:port]
        [,pooler=host:port]
        [,replica_poolers=host:port|host:port]

`pooler` is the PgBouncer in front of the primary (transaction pooling);
`replica_poolers` lists one PgBouncer per replica, in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from psycopg2.extensions import connection as PgConnection

from core import pgconnect

SERVER_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


@dataclass(frozen=True)
class Endpoint:
    """A host and port."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ServerConfig:
    """One PostgreSQL server (primary, replicas and optional poolers)."""

    name: str
    user: str
    password: str
    primary: Endpoint
    replicas: tuple[Endpoint, ...] = ()
    pooler: Endpoint | None = None
    replica_poolers: tuple[Endpoint, ...] = ()
    options: tuple[tuple[str, str], ...] = field(default=())

    def connect(self, dbname: str, *, application_name: str, endpoint: Endpoint | None = None,
                autocommit: bool = True, **overrides: Any) -> PgConnection:
        """Open a direct connection to `dbname` on `endpoint` (default: the primary, never a pooler).

        The server's URL options and the connect timeout apply; `overrides`
        (libpq keywords, e.g. ``user`` for a pooler's admin console) win.
        """
        where = endpoint or self.primary
        params: dict[str, Any] = {"user": self.user, "password": self.password, **dict(self.options), **overrides}
        return pgconnect.connect(host=where.host, port=where.port, dbname=dbname, application_name=application_name,
                                 autocommit=autocommit, **params)


def parse_endpoint(text: str) -> Endpoint:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ImproperlyConfigured(f"TENANT_DB_SERVERS: bad host:port {text!r}")
    return Endpoint(host, int(port))


def parse_servers(spec: str) -> dict[str, ServerConfig]:
    """Return the servers described by `spec`, keyed by name, validated."""
    servers: dict[str, ServerConfig] = {}
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        server = _parse_entry(entry)
        if server.name in servers:
            raise ImproperlyConfigured(f"TENANT_DB_SERVERS: server {server.name!r} listed twice")
        servers[server.name] = server
    if not servers:
        raise ImproperlyConfigured("TENANT_DB_SERVERS lists no server")
    return servers


def _parse_entry(entry: str) -> ServerConfig:
    head, *extras = entry.split(",")
    name, sep, url = head.partition("=")
    name = name.strip()
    if not sep or not SERVER_NAME_RE.match(name):
        raise ImproperlyConfigured(f"TENANT_DB_SERVERS: bad server name in {head!r}")
    parts = urlsplit(url.strip())
    if parts.scheme not in {"postgres", "postgresql"} or not parts.hostname:
        raise ImproperlyConfigured(f"TENANT_DB_SERVERS: {name}: expected a postgres:// URL")
    keys = dict(_parse_extra(name, extra) for extra in extras)
    replicas = tuple(parse_endpoint(e) for e in keys.get("replicas", "").split("|") if e)
    replica_poolers = tuple(parse_endpoint(e) for e in keys.get("replica_poolers", "").split("|") if e)
    if replica_poolers and len(replica_poolers) != len(replicas):
        raise ImproperlyConfigured(f"TENANT_DB_SERVERS: {name}: one replica_pooler per replica")
    return ServerConfig(
        name=name,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        primary=Endpoint(parts.hostname, parts.port or 5432),
        replicas=replicas,
        pooler=parse_endpoint(keys["pooler"]) if keys.get("pooler") else None,
        replica_poolers=replica_poolers,
        options=tuple(parse_qsl(parts.query)),
    )


def _parse_extra(name: str, extra: str) -> tuple[str, str]:
    key, sep, value = extra.partition("=")
    key = key.strip()
    if not sep or key not in {"replicas", "pooler", "replica_poolers"}:
        raise ImproperlyConfigured(f"TENANT_DB_SERVERS: {name}: unknown option {extra!r}")
    return key, value.strip()


@lru_cache(maxsize=4)
def _cached(spec: str) -> dict[str, ServerConfig]:
    return parse_servers(spec)


def configured_servers() -> dict[str, ServerConfig]:
    """Return the servers from settings (parsed once per distinct value)."""
    return _cached(settings.TENANT_DB_SERVERS)


# How far behind a replica is, in seconds. Caught up (0) when it has replayed
# all it received; streaming restarts at a segment boundary, so "received" can
# be *behind* "replayed" right after a restart. NULL when no WAL receiver is
# running: a replica cut off from its primary replays everything it received
# and then looks caught up forever, however stale its data is, so its lag is
# unknown and callers must treat it as unbounded. (Any role can see whether the
# receiver row exists; only its details need pg_read_all_stats.)
REPLICA_LAG_EXPR = (
    "CASE WHEN NOT EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN NULL "
    "WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)
REPLICA_STATUS_SQL = f"SELECT pg_last_wal_replay_lsn()::text, {REPLICA_LAG_EXPR}"

"""Replica probes: one small direct connection per replica per process.

A probe reads the replica's replayed LSN and lag, shared by every tenant on
that server (the WAL is per server). Probes go straight to the replica, not
through PgBouncer, so a pooler's queue can never stall a request behind a
health check; a failing pooled path is caught where reads run
(`routers.guard`, `replicas._connected`). A probe already running in another
thread is not waited for: the caller uses the last known status.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Any

import psycopg2
from django.conf import settings

from core.dbservers import REPLICA_STATUS_SQL, Endpoint, configured_servers
from routers.consistency import lsn_to_int

PROBE_TIMEOUT_SECONDS = 1
_connections: dict[tuple[str, int], Any] = {}
_owner_pid = os.getpid()
_locks: dict[tuple[str, int], threading.Lock] = {}
_locks_guard = threading.Lock()


class ProbeBusy(Exception):
    """Another thread is probing this replica right now."""


def measure(server: str, index: int) -> tuple[int, float]:
    """Return replica `index` of `server`'s replayed LSN and lag in seconds (infinite: cut off).

    Raise ProbeBusy when another thread is probing it, psycopg2.Error when it cannot be read.
    `routers.replicas.probe` records the answer; this module only asks.
    """
    key = (server, index)
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        raise ProbeBusy(key)
    try:
        lsn_text, lag = _query(key)
    except psycopg2.Error:
        _drop(key)
        raise
    finally:
        lock.release()
    # No lag means no WAL receiver: the replica is cut off from its primary.
    return lsn_to_int(lsn_text) if lsn_text else 0, math.inf if lag is None else float(lag)


def _query(key: tuple[str, int]) -> tuple[str | None, float | None]:
    _forget_after_fork()
    for attempt in (1, 2):  # a connection from before a replica restart fails once
        conn = _connections.get(key) or _connect(key)
        try:
            with conn.cursor() as cursor:
                cursor.execute(REPLICA_STATUS_SQL)
                row = cursor.fetchone()
            return row[0], row[1]
        except psycopg2.Error:
            _drop(key)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _connect(key: tuple[str, int]) -> Any:
    params = _params(*key)
    conn = psycopg2.connect(connect_timeout=PROBE_TIMEOUT_SECONDS, application_name="tessera-probe",
                            options=f"-c statement_timeout={PROBE_TIMEOUT_SECONDS * 1000}", **params)
    conn.autocommit = True
    _connections[key] = conn
    return conn


def _params(server: str, index: int) -> dict[str, Any]:
    if server == "control":
        db = settings.DATABASES["default_replica"]
        return {"host": db["HOST"], "port": db["PORT"] or 5432, "user": db["USER"],
                "password": db["PASSWORD"], "dbname": db["NAME"]}
    config = configured_servers()[server]
    endpoint: Endpoint = config.replicas[index]
    return {"host": endpoint.host, "port": endpoint.port, "user": config.user,
            "password": config.password, "dbname": "postgres", **dict(config.options)}


def _forget_after_fork() -> None:
    """A forked child must not share its parent's sockets: forget them, unclosed."""
    global _owner_pid
    if os.getpid() != _owner_pid:
        _connections.clear()
        _owner_pid = os.getpid()


def _drop(key: tuple[str, int]) -> None:
    conn = _connections.pop(key, None)
    if conn is not None:
        with contextlib.suppress(psycopg2.Error):
            conn.close()


def close_all() -> None:
    for key in list(_connections):
        _drop(key)

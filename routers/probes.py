"""Replica probes: one small direct connection per replica per process.

A probe reads the replica's replayed LSN and lag, shared by every tenant on
that server (the WAL is per server), and returns them (`ProbeReading`);
recording them is `ReplicaHealth`'s job. Probes go straight to the replica,
not through PgBouncer, so a pooler's queue can never stall a request behind
a health check; a failing pooled path is caught where reads run
(`routers.guard`, `ReplicaHealth._connected`). That is also why this module
opens its own psycopg2 connections rather than `ServerConfig.connect()`: a
probe needs a one-second connect and statement timeout of its own, autocommit,
and a connection kept open across probes. A probe already running in another
thread is not waited for: the caller uses the last known status.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import psycopg2
from django.conf import settings
from django.db import DatabaseError

from core import pgconnect
from core.dbservers import REPLICA_STATUS_SQL, Endpoint, configured_servers
from routers.consistency import lsn_to_int

PROBE_TIMEOUT_SECONDS = 1
Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """What one probe read: the replayed WAL position and the lag (inf: cut off from its primary)."""

    replay_lsn: int
    lag_seconds: float


class ProbeFailed(DatabaseError):
    """The replica did not answer its probe."""


class Probes:
    """The probe connections of this process, one per replica."""

    def __init__(self) -> None:
        self._connections: dict[Key, Any] = {}
        self._owner_pid = os.getpid()
        self._locks: dict[Key, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def read(self, server: str, index: int) -> ProbeReading | None:
        """Probe replica `index` of `server`; None if another thread is probing it, ProbeFailed if it fails."""
        key = (server, index)
        with self._locks_guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            return None
        try:
            lsn_text, lag = self._query(key)
        except psycopg2.Error as exc:
            self._drop(key)
            raise ProbeFailed(str(exc)) from exc
        finally:
            lock.release()
        # No lag means no WAL receiver: the replica is cut off from its primary.
        return ProbeReading(lsn_to_int(lsn_text) if lsn_text else 0, math.inf if lag is None else float(lag))

    def _query(self, key: Key) -> tuple[str | None, float | None]:
        self._forget_after_fork()
        for attempt in (1, 2):  # a connection from before a replica restart fails once
            conn = self._connections.get(key) or self._connect(key)
            try:
                with conn.cursor() as cursor:
                    cursor.execute(REPLICA_STATUS_SQL)
                    row = cursor.fetchone()
                return row[0], row[1]
            except psycopg2.Error:
                self._drop(key)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connect(self, key: Key) -> Any:
        conn = pgconnect.connect(application_name="tessera-probe", connect_timeout=PROBE_TIMEOUT_SECONDS,
                                 options=f"-c statement_timeout={PROBE_TIMEOUT_SECONDS * 1000}", **_params(*key))
        self._connections[key] = conn
        return conn

    def _forget_after_fork(self) -> None:
        """A forked child must not share its parent's sockets: forget them, unclosed."""
        if os.getpid() != self._owner_pid:
            self._connections.clear()
            self._owner_pid = os.getpid()

    def _drop(self, key: Key) -> None:
        conn = self._connections.pop(key, None)
        if conn is not None:
            with contextlib.suppress(psycopg2.Error):
                conn.close()

    def close_all(self) -> None:
        for key in list(self._connections):
            self._drop(key)


def _params(server: str, index: int) -> dict[str, Any]:
    if server == "control":
        db = settings.DATABASES["default_replica"]
        return {"host": db["HOST"], "port": int(db["PORT"] or 5432), "user": db["USER"],
                "password": db["PASSWORD"], "dbname": db["NAME"]}
    config = configured_servers()[server]
    endpoint: Endpoint = config.replicas[index]
    return {"host": endpoint.host, "port": endpoint.port, "user": config.user,
            "password": config.password, "dbname": "postgres", **dict(config.options)}


"""Idle client connections to a pooler, shared by the threads of a process.

Django holds one connection per alias per thread. Behind PgBouncer a
connection is a *client* connection: cheap to keep, costly to open (a login
and Django's set-up, about a hundred warm queries). With many tenants and
several threads, a thread rarely holds the connection of the tenant it serves
next, although another thread's sits idle. So a pooled tenant alias closes
its connection at the end of each request (`CONN_MAX_AGE` 0) into this pool,
and opening one takes the most recently returned connection of the same
alias, so a request pays a login only when no thread of the process served
that database lately.

What keeps it safe:

* connections are filed under their alias *and* every connection parameter
  (host, port, database, user, options): a connection can only ever be
  handed to the same tenant's same database; `take` checks the database name
  the connection reports as well;
* only a clean connection goes back: open, no transaction (libpq's own
  transaction status, not Django's belief), no error seen by Django, the time
  zone Django set (see `backend.base`);
* a connection idle for longer than the health-check window is checked before
  it is handed out: its socket first (no round trip: a pooler that restarted
  or closed it left it readable, and it is dropped), then, idle for longer
  than `TENANT_POOL_PING_SECONDS`, a `SELECT 1` too. A spread-out tenant's
  connection is idle for seconds between two requests, so a ping at each
  checkout would cost a round trip (and the pooler a server connection) per
  request;
* `discard(alias)` closes the idle connections of an alias: the registry
  calls it whenever a tenant is unregistered (deleted, moved, evicted), and
  tests that drop databases go through the registry or `runtime.reset()`;
* a forked child forgets its parent's connections (never shares a socket).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import psycopg2
from psycopg2 import extensions

Key = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(slots=True)
class _Idle:
    key: Key
    conn: Any
    returned_at: float


def pool_key(alias: str, params: dict[str, Any]) -> Key:
    """Return what makes two connections interchangeable: the alias, and where and as whom they connect."""
    return alias, tuple(sorted((name, repr(value)) for name, value in params.items()))


class SharedPool:
    """A process-wide LRU of idle client connections, filed per alias and parameters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[int, _Idle] = OrderedDict()  # least recently returned first
        self._stacks: dict[Key, list[int]] = {}  # most recently returned last
        self._pid = os.getpid()
        self.hits = 0
        self.misses = 0

    def take(self, key: Key, database: str, *, check_after: float, ping_after: float = 0.0) -> Any | None:
        """Return an idle connection for `key` (the most recently returned), or None.

        One idle for `check_after` seconds or more must have a quiet socket, and one idle
        for `ping_after` seconds or more (and `check_after`) must answer a ping.
        """
        while True:
            with self._lock:
                self._forget_after_fork_locked()
                stack = self._stacks.get(key)
                if not stack:
                    self.misses += 1
                    return None
                idle = self._pop_locked(stack[-1])
                self.hits += 1
            conn = idle.conn
            if conn.closed or conn.info.dbname != database:
                _close(conn)
                continue
            idle_for = time.monotonic() - idle.returned_at
            if idle_for < check_after or (_quiet(conn) and (idle_for < ping_after or _answers(conn))):
                return conn
            _close(conn)

    def give_back(self, key: Key, conn: Any) -> bool:
        """Keep `conn` for the next taker if it is clean; return False when the caller must close it."""
        if conn.closed or conn.info.transaction_status != extensions.TRANSACTION_STATUS_IDLE:
            return False
        with self._lock:
            self._forget_after_fork_locked()
            self._idle[id(conn)] = _Idle(key, conn, time.monotonic())
            self._stacks.setdefault(key, []).append(id(conn))
        return True

    def evict_oldest(self) -> bool:
        """Close the least recently returned idle connection; return False when there is none."""
        with self._lock:
            if not self._idle:
                return False
            idle = self._pop_locked(next(iter(self._idle)))
        _close(idle.conn)
        return True

    def discard(self, alias: str) -> int:
        """Close every idle connection of `alias` (its tenant went away or moved); return how many."""
        with self._lock:
            ids = [conn_id for key, stack in self._stacks.items() if key[0] == alias for conn_id in stack]
            gone = [self._pop_locked(conn_id) for conn_id in ids]
        for idle in gone:
            _close(idle.conn)
        return len(gone)

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    def idle_aliases(self) -> list[str]:
        """Return the alias of each idle connection (read-only; metrics)."""
        with self._lock:
            return [idle.key[0] for idle in self._idle.values()]

    def clear(self) -> None:
        """Close every idle connection (tests, `runtime.reset()`)."""
        with self._lock:
            gone = list(self._idle.values())
            self._idle.clear()
            self._stacks.clear()
        for idle in gone:
            _close(idle.conn)

    def _pop_locked(self, conn_id: int) -> _Idle:
        idle = self._idle.pop(conn_id)
        stack = self._stacks[idle.key]
        stack.remove(conn_id)
        if not stack:
            del self._stacks[idle.key]
        return idle

    def _forget_after_fork_locked(self) -> None:
        """A forked child must not use its parent's sockets: forget them, unclosed."""
        if os.getpid() != self._pid:
            self._idle.clear()
            self._stacks.clear()
            self._pid = os.getpid()


def _quiet(conn: Any) -> bool:
    """Say whether an idle connection's socket has nothing to read (an idle peer sends nothing
    unasked: a readable socket was closed, or holds an error, by the other end)."""
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg2.Error):
        return False


def _answers(conn: Any) -> bool:
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means: do not hand it out
        return False


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()

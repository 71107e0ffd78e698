"""Client connections to a pooler, shared by the threads of a process.

Django holds one connection per alias per thread. Behind PgBouncer a
connection is a *client* connection, cheap to keep and costly to open (a
login): with many tenants and several threads, a thread rarely holds the
connection of the tenant it serves next, although another thread's sits idle.
Here, closing such a connection puts it back in a process-wide stack per
database entry, and opening one takes the most recently returned, so a
request pays a login only when no thread of the process served that database
lately. The stacks hold at most `limit` idle connections in all; the least
recently returned is closed beyond it.

Only a connection in a clean state goes back: no open transaction, no error
seen by Django, not closed. One idle for longer than the health-check window
is pinged (`SELECT 1`) before it is handed out, and replaced if it fails.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from typing import Any

from psycopg2 import extensions

_lock = threading.Lock()
Key = tuple[Any, ...]
# id(conn) -> (key, conn, returned at): every idle connection, least recently returned first
_idle: OrderedDict[int, tuple[Key, Any, float]] = OrderedDict()
# key -> ids of its idle connections, most recently returned last
_stacks: dict[Key, list[int]] = {}


def entry_key(params: dict[str, Any]) -> Key:
    """Return what makes two connections interchangeable: where and as whom they connect."""
    return tuple(sorted((key, repr(value)) for key, value in params.items()))


def take(key: Key, *, check_after: float) -> Any | None:
    """Return an idle connection for `key` (the most recently returned), or None."""
    while True:
        with _lock:
            stack = _stacks.get(key)
            if not stack:
                return None
            _, conn, returned = _idle.pop(stack.pop())
            if not stack:
                del _stacks[key]
        if conn.closed:
            continue
        if time.monotonic() - returned < check_after or _usable(conn):
            return conn
        _close(conn)


def give_back(key: Key, conn: Any, *, limit: int) -> bool:
    """Keep `conn` for the next taker if it is clean; return False when the caller must close it."""
    if limit <= 0 or conn.closed or conn.info.transaction_status != extensions.TRANSACTION_STATUS_IDLE:
        return False
    evicted = []
    with _lock:
        _idle[id(conn)] = (key, conn, time.monotonic())
        _stacks.setdefault(key, []).append(id(conn))
        while len(_idle) > limit:
            old_id, (old_key, old, _) = _idle.popitem(last=False)
            _stacks[old_key].remove(old_id)
            if not _stacks[old_key]:
                del _stacks[old_key]
            evicted.append(old)
    for old in evicted:
        _close(old)
    return True


def evict_oldest() -> bool:
    """Close the least recently returned idle connection; return False when there is none."""
    with _lock:
        if not _idle:
            return False
        old_id, (old_key, old, _) = _idle.popitem(last=False)
        _stacks[old_key].remove(old_id)
        if not _stacks[old_key]:
            del _stacks[old_key]
    _close(old)
    return True


def idle_count() -> int:
    with _lock:
        return len(_idle)


def clear() -> None:
    """Close every idle connection (tests, and a process that forks)."""
    with _lock:
        conns = [conn for _, conn, _ in _idle.values()]
        _idle.clear()
        _stacks.clear()
    for conn in conns:
        _close(conn)


def _usable(conn: Any) -> bool:
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means: do not hand it out
        return False


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()

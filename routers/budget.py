"""A per-process budget of open tenant connections, evicting the least recently used.

Django keeps one connection per alias per thread. With thousands of tenants a
long-lived process would otherwise end up holding a connection to every
database it ever served. Every tenant alias is *touched* before use (by the
router, `current_alias()` and `tenant_atomic()`); a touch that would open a new
connection first makes room by closing the least recently used idle one.

A connection is *busy* while the thread that owns it is inside a
`tenant_context()` for that tenant; busy connections are never closed from
here. Idle connections of other threads are closed with Django's
thread-sharing guard lifted for the call (the owner is not using them and
reconnects on its next use). When every slot is busy the caller waits for one
to free up, then fails with `ConnectionBudgetExhausted`.

Two kinds of connection have two budgets. A connection to a PgBouncer is a
*client* connection: cheap for the pooler, which hands it a server connection
only for the length of a transaction, and costly to reopen (a login, about as
much as a query hundred times over). Those are kept up to
`TENANT_CLIENT_CONNECTIONS_MAX`, so a process serving many tenants rarely
pays a login. A connection straight to PostgreSQL is a *server* connection
(a backend process on the server), bounded by `TENANT_CONNECTIONS_MAX`.
What bounds the server side behind the poolers is each pooler's per-server
cap (`TENANT_SERVER_CONNECTIONS_MAX`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db import connections

from routers.exceptions import ConnectionBudgetExhausted
from routers.spec import slug_of

_cond = threading.Condition(threading.Lock())
# (thread ident, alias) -> weak reference to that thread's DatabaseWrapper
_slots: OrderedDict[tuple[int, str], weakref.ref[Any]] = OrderedDict()
# thread ident -> stack of tenant slugs the thread is inside
_busy: dict[int, list[str]] = {}
_evictions = 0


def budget(alias: str | None = None) -> int:
    """Return the per-process limit for connections of `alias`'s kind (direct ones without an alias)."""
    if alias is not None and is_pooled(alias):
        return int(settings.TENANT_CLIENT_CONNECTIONS_MAX)
    return int(settings.TENANT_CONNECTIONS_MAX)


def is_pooled(alias: str) -> bool:
    """Return True when `alias` connects to a PgBouncer (a client connection)."""
    from routers import registry

    info = registry.alias_info(alias)
    return info is not None and info.pooled


def _count_locked(pooled: bool) -> int:
    return sum(1 for _, alias in _slots if is_pooled(alias) is pooled)


def enter(slug: str) -> None:
    """Mark the calling thread as using `slug`'s connections."""
    with _cond:
        _busy.setdefault(threading.get_ident(), []).append(slug)


def leave(slug: str) -> None:
    """Undo `enter`; the thread's connections of `slug` become evictable."""
    ident = threading.get_ident()
    with _cond:
        stack = _busy.get(ident, [])
        if slug in stack:
            stack.reverse()
            stack.remove(slug)
            stack.reverse()
        if not stack:
            _busy.pop(ident, None)
        _cond.notify_all()


def in_use(slug: str) -> bool:
    """Return True while some thread is inside a `tenant_context()` for `slug`."""
    with _cond:
        return any(slug in stack for stack in _busy.values())


def touch(alias: str) -> None:
    """Record that this thread uses `alias` now, making room for a new connection."""
    key = (threading.get_ident(), alias)
    with _cond:
        if key in _slots:
            _slots.move_to_end(key)
            return
        deadline = time.monotonic() + float(settings.TENANT_CONNECTION_WAIT_SECONDS)
        pooled, limit = is_pooled(alias), budget(alias)
        while _count_locked(pooled) >= limit:
            if _evict_one_locked(pooled):
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                name = "TENANT_CLIENT_CONNECTIONS_MAX" if pooled else "TENANT_CONNECTIONS_MAX"
                raise ConnectionBudgetExhausted(
                    f"all {limit} tenant connection slots of this kind in this process are busy "
                    f"(raise {name} or lower per-process concurrency)"
                )
            _cond.wait(remaining)
        _slots[key] = weakref.ref(_current_wrapper(alias))


def _current_wrapper(alias: str) -> Any:
    """Return this thread's connection of `alias`, replacing one built from an older registration.

    Each thread caches its own wrapper, holding the settings dict it was built
    from. After a tenant is unregistered and registered again (moved to another
    server, or evicted from the registry and back), a thread's cached wrapper
    would still point at the old description: drop it so Django builds a new one.
    """
    wrapper = connections[alias]
    if wrapper.settings_dict is not connections.settings[alias]:
        _close(wrapper)
        del connections[alias]
        wrapper = connections[alias]
    return wrapper


def _evict_one_locked(pooled: bool) -> bool:
    """Close the least recently used idle connection of a kind; return False if none is idle."""
    global _evictions
    alive = {thread.ident for thread in threading.enumerate()}
    for key, ref in list(_slots.items()):
        ident, alias = key
        if is_pooled(alias) is not pooled:
            continue
        wrapper = ref()
        if wrapper is None or ident not in alive:
            _close(wrapper)  # owner thread is gone: nobody else can use it
            del _slots[key]
            return True
        if slug_of(alias) in _busy.get(ident, ()):
            continue
        _close(wrapper)
        del _slots[key]
        _evictions += 1
        return True
    return False


def _close(wrapper: Any) -> None:
    if wrapper is None or wrapper.connection is None:
        return
    wrapper.inc_thread_sharing()
    try:
        wrapper.close()
    except Exception:  # noqa: S110 - a broken connection is as good as closed
        pass
    finally:
        wrapper.dec_thread_sharing()


def forget(alias: str) -> None:
    """Drop every slot of `alias`, closing the idle ones (the tenant moved or was unregistered).

    A busy connection is left to its thread, whose next touch finds no slot and
    rebuilds the wrapper from the current registration.
    """
    with _cond:
        for key in [k for k in _slots if k[1] == alias]:
            ref = _slots.pop(key)
            if slug_of(alias) not in _busy.get(key[0], ()):
                _close(ref())
        _cond.notify_all()


def open_connections() -> int:
    """Return how many tenant connections of this process are open right now."""
    with _cond:
        return sum(1 for ref in _slots.values() if (w := ref()) is not None and w.connection is not None)


def open_aliases() -> list[str]:
    """Return the alias of every tenant connection of this process open right now (read-only)."""
    with _cond:
        return [alias for (_, alias), ref in _slots.items() if (w := ref()) is not None and w.connection is not None]


def stats() -> dict[str, int]:
    with _cond:
        slots = len(_slots)
    return {"budget": budget(), "client_budget": int(settings.TENANT_CLIENT_CONNECTIONS_MAX), "slots": slots,
            "open": open_connections(), "evictions": _evictions}

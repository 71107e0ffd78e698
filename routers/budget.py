"""A per-process budget of open tenant connections, enforced where connections open.

Django keeps one connection per alias per thread; with thousands of tenants a
long-lived process would otherwise end up holding a connection to every
database it ever served. The tenant backend (`routers.backend`) asks this
budget before it opens a new physical connection (`reserve`), and tells it
when one is open (`settle`) or gone (`dropped`); no other code touches it.
What is counted is every open connection of the process: those threads hold
and, for pooled aliases, the idle ones in the shared pool (`routers.pool`).

When a kind's budget is full, a new connection first makes room: it closes
the least recently returned idle pooled connection, then the oldest idle
connection another thread holds (a thread's connection is *busy* while the
thread is inside a `tenant_context()` of that tenant, and busy ones are never
closed from here; an idle one is closed with Django's thread-sharing guard
lifted, its owner reconnects on its next use). When every slot is busy the
caller waits for one to free up, then fails with `ConnectionBudgetExhausted`.

Two kinds, two budgets: a connection to a PgBouncer is a *client* connection
(cheap for the pooler, costly to reopen), kept up to
`TENANT_CLIENT_CONNECTIONS_MAX`; one straight to PostgreSQL is a *server*
connection (a backend process), bounded by `TENANT_CONNECTIONS_MAX`. What
bounds the server side behind the poolers is each pooler's per-server cap
(`TENANT_SERVER_CONNECTIONS_MAX`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from psycopg2 import extensions

from routers.exceptions import ConnectionBudgetExhausted
from routers.pool import SharedPool

Slot = tuple[int, str]  # (thread ident, alias)


def limit_for(pooled: bool) -> int:
    """Return the per-process limit of one kind of connection."""
    return int(settings.TENANT_CLIENT_CONNECTIONS_MAX if pooled else settings.TENANT_CONNECTIONS_MAX)


class ConnectionBudget:
    """Count, bound and evict the tenant connections of this process."""

    def __init__(self, pool: SharedPool, is_pooled: Callable[[str], bool],
                 slug_of: Callable[[str], str | None]) -> None:
        self._cond = threading.Condition(threading.RLock())  # re-entered: an eviction closes through the backend
        self._pool, self._is_pooled, self._slug_of = pool, is_pooled, slug_of
        self._held: OrderedDict[Slot, tuple[weakref.ref[Any], bool]] = OrderedDict()
        self._pending = {True: 0, False: 0}  # reserved, not settled yet
        self._busy: dict[int, list[str]] = {}  # thread ident -> tenant slugs it is inside
        self.evictions = 0

    # -- tenant contexts ------------------------------------------------------
    def enter(self, slug: str) -> None:
        """Mark the calling thread as using `slug`'s connections."""
        with self._cond:
            self._busy.setdefault(threading.get_ident(), []).append(slug)

    def leave(self, slug: str) -> None:
        """Undo `enter`; the thread's connections of `slug` become evictable."""
        ident = threading.get_ident()
        with self._cond:
            stack = self._busy.get(ident, [])
            if slug in stack:
                del stack[len(stack) - 1 - stack[::-1].index(slug)]
            if not stack:
                self._busy.pop(ident, None)
            self._cond.notify_all()

    def in_use(self, slug: str) -> bool:
        """Return True while some thread is inside a `tenant_context()` for `slug`."""
        with self._cond:
            return any(slug in stack for stack in self._busy.values())

    # -- called by the backend ----------------------------------------------------
    def reserve(self, alias: str, *, from_pool: bool) -> bool:
        """Claim a slot for a connection of `alias` about to be used; return its kind (pooled).

        A connection taken from the shared pool is counted already: it only
        changes hands. A new one waits for room, making it by eviction.
        """
        pooled = self._is_pooled(alias)
        with self._cond:
            if not from_pool:
                self._make_room_locked(pooled)
            self._pending[pooled] += 1
        return pooled

    def settle(self, wrapper: Any, pooled: bool) -> None:
        """Record the outcome of a reserved connect: held by this thread, or not open after all."""
        with self._cond:
            self._pending[pooled] -= 1
            if wrapper.connection is not None:
                wrapper.budget_owner = threading.get_ident()
                key = (wrapper.budget_owner, wrapper.alias)
                self._held[key] = (weakref.ref(wrapper), pooled)
                self._held.move_to_end(key)
            self._cond.notify_all()

    def open_aliases(self) -> list[str]:
        """Return the alias of every open tenant connection of this process: held by a thread, or idle."""
        with self._cond:
            held = [alias for (_, alias), (ref, _) in self._held.items()
                    if (wrapper := ref()) is not None and wrapper.connection is not None]
        return held + self._pool.idle_aliases()

    def dropped(self, wrapper: Any) -> None:
        """Forget this thread's connection of `wrapper` (closed, or handed to the shared pool)."""
        with self._cond:
            self._held.pop((wrapper.budget_owner, wrapper.alias), None)
            self._cond.notify_all()

    # -- eviction -------------------------------------------------------------------
    def _make_room_locked(self, pooled: bool) -> None:
        limit = limit_for(pooled)
        deadline = time.monotonic() + float(settings.TENANT_CONNECTION_WAIT_SECONDS)
        while self._count_locked(pooled) >= limit:
            if (pooled and self._pool.evict_oldest()) or self._evict_held_locked(pooled):
                self.evictions += 1
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                name = "TENANT_CLIENT_CONNECTIONS_MAX" if pooled else "TENANT_CONNECTIONS_MAX"
                raise ConnectionBudgetExhausted(
                    f"all {limit} tenant connection slots of this kind in this process are busy "
                    f"(raise {name} or lower per-process concurrency)")
            self._cond.wait(remaining)

    def _count_locked(self, pooled: bool) -> int:
        held = 0
        for key, (ref, kind) in list(self._held.items()):
            wrapper = ref()
            if wrapper is None or wrapper.connection is None or wrapper.connection.closed:
                del self._held[key]  # closed behind our back (an error path): not open any more
            elif kind is pooled:
                held += 1
        return held + self._pending[pooled] + (self._pool.idle_count() if pooled else 0)

    def _evict_held_locked(self, pooled: bool) -> bool:
        """Close the oldest idle connection of a kind that a thread holds; False if none is idle."""
        alive = {thread.ident for thread in threading.enumerate()}
        for key, (ref, kind) in list(self._held.items()):
            ident, alias = key
            wrapper = ref()
            if kind is not pooled or wrapper is None:
                continue
            if ident in alive and (self._slug_of(alias) in self._busy.get(ident, ()) or _in_transaction(wrapper)):
                continue
            del self._held[key]
            discard(wrapper)
            return True
        return False

    def forget(self, alias: str) -> None:
        """Close every thread's idle connection of `alias` (its tenant moved or was unregistered).

        A busy one is left to its thread: the backend reconnects it from the
        current registration (or fails closed if there is none) on its next connect.
        """
        with self._cond:
            for key in [k for k in self._held if k[1] == alias]:
                ref, _ = self._held[key]
                if self._slug_of(alias) not in self._busy.get(key[0], ()):
                    del self._held[key]
                    discard(ref())
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget every slot and busy mark (`runtime.reset()`; threads' own connections stay theirs)."""
        with self._cond:
            self._held.clear()
            self._busy.clear()
            self.evictions = 0
            self._cond.notify_all()

    # -- read-only ------------------------------------------------------------------
    def open_connections(self) -> int:
        """Return how many tenant connections of this process are open (held and idle in the pool)."""
        with self._cond:
            return self._count_locked(True) + self._count_locked(False)

    def stats(self) -> dict[str, int]:
        """Return the budget's figures (read-only; metrics read them)."""
        with self._cond:
            client, direct = self._count_locked(True), self._count_locked(False)
        return {"budget": limit_for(False), "client_budget": limit_for(True), "open": client + direct,
                "open_client": client, "open_direct": direct, "idle_shared": self._pool.idle_count(),
                "evictions": self.evictions}


def discard(wrapper: Any) -> None:
    """Really close `wrapper`'s connection (never into the shared pool), whichever thread owns it."""
    if wrapper is None or wrapper.connection is None:
        return
    wrapper.inc_thread_sharing()
    try:
        wrapper.discard_connection()
    except Exception:  # noqa: S110 - a broken connection is as good as closed
        pass
    finally:
        wrapper.dec_thread_sharing()


def _in_transaction(wrapper: Any) -> bool:
    """Return True when another thread's connection is inside a transaction or a query: never closed under it."""
    conn = wrapper.connection
    idle = extensions.TRANSACTION_STATUS_IDLE
    return bool(wrapper.in_atomic_block or (conn is not None and conn.info.transaction_status != idle))


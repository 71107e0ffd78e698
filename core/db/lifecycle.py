"""`connections.all(initialized_only=True)` at the cost of what the thread holds, not what the process registered.

Django calls `connections.all(initialized_only=True)` at the start and end of
every request (`reset_queries`, `close_old_connections`, three walks) and DRF
once more on every error answer (`set_rollback`). It asks the thread-local
connection storage about every alias the process knows, and a miss (an alias
this thread never used) costs an exception inside asgiref's `Local`, about
10 µs. A process serving many tenants registers one or two aliases per
tenant: at 256 aliases the walks cost about 8 ms per request, at 2,000 about
60 ms, which is what kept the per-process registry small.

So every database wrapper built through our backends
(`core.db.backends.postgresql`, and the tenant engine built on it) files
itself in a thread-local table as it is created, which is how a thread comes
to hold a connection, and `install()` answers the `initialized_only=True`
form from that table plus the few aliases of the settings file, as they
were when it was installed (those may use another engine; the registry adds
every tenant alias to `settings.DATABASES`, so that is no list to walk).
Everything that calls it, Django's handlers and the test client's handling
of them included, keeps working unchanged. A wrapper the thread no longer
holds (the registry replaced or dropped it) leaves the table
at the next walk, a wrapper built but never held (a `copy()`) gives way to
the one the thread holds, and one whose connection closed leaves it until it
connects again. `initialized_only=False` is Django's own.

`install()` also replaces `BaseHandler.make_view_atomic`, Django's other
per-request loop over every alias (see `make_view_atomic`).
"""

from __future__ import annotations

import threading
from inspect import iscoroutinefunction
from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.db import connections, transaction
from django.utils.connection import BaseConnectionHandler

_local = threading.local()
# The aliases of the settings file, read at install(): they may use another engine and so never be
# filed. settings.DATABASES itself is no list to walk: the registry adds every tenant alias to it.
_configured: tuple[str, ...] = ()


def track(wrapper: Any) -> None:
    """File a database wrapper just created in this thread."""
    table: dict[str, Any] | None = getattr(_local, "wrappers", None)
    if table is None:
        table = _local.wrappers = {}
    table[wrapper.alias] = wrapper


def thread_connections() -> list[Any]:
    """Return the wrappers of this thread with anything to upkeep: what `connections.all(initialized_only=True)`
    is asked for at each request.

    Django's storage keeps a wrapper for every alias the thread ever used, open or closed; a
    thread of a process serving 1,000 tenants comes to hold 2,000 of them, and walking those
    three times a request cost 12 ms. A wrapper with no connection, no query log and no
    transaction has nothing for the upkeep (closing, health-check reset, query log, rollback)
    to do, so it leaves the table; it files itself again when it connects.
    """
    table: dict[str, Any] = getattr(_local, "wrappers", None) or {}
    held = connections._connections  # type: ignore[attr-defined]  # Django's thread-local storage, as all() reads it
    found = {}
    for alias in list(table):
        current = getattr(held, alias, None)  # the wrapper the thread holds now (a copy may have been filed)
        if current is None or (current.connection is None and not current.queries_log
                               and not current.in_atomic_block):
            del table[alias]  # dropped since, or idle: nothing of this alias to upkeep
        else:
            found[alias] = table[alias] = current
    for alias in _configured:
        if alias not in found and hasattr(held, alias):
            found[alias] = getattr(held, alias)
    return list(found.values())


def configured_aliases() -> tuple[str, ...]:
    """Return the aliases of the settings file: the walk returns them whenever the thread holds them."""
    return _configured


def _all(initialized_only: bool = False) -> list[Any]:
    if initialized_only:
        return thread_connections()
    return list(BaseConnectionHandler.all(connections, initialized_only=False))


def make_view_atomic(handler: BaseHandler, view: Any) -> Any:
    """Django's `BaseHandler.make_view_atomic`, over the settings file's aliases only.

    Django's loops over every alias at each request to find those with
    `ATOMIC_REQUESTS`; the registry gives every tenant alias `ATOMIC_REQUESTS`
    False (`routers.registry`), so at 1,000 tenants that loop was 6 % of a
    request spent finding nothing.
    """
    non_atomic: set[str] = getattr(view, "_non_atomic_requests", set())
    for alias in _configured:
        entry = connections.settings.get(alias)
        if entry and entry.get("ATOMIC_REQUESTS") and alias not in non_atomic:
            if iscoroutinefunction(view):
                raise RuntimeError("You cannot use ATOMIC_REQUESTS with async views.")
            view = transaction.atomic(using=alias)(view)
    return view


def install() -> None:
    """Answer `connections.all(initialized_only=True)` from the thread's table, and make views atomic
    from the settings file's aliases (idempotent)."""
    global _configured
    _configured = _configured or tuple(settings.DATABASES)
    BaseHandler.make_view_atomic = make_view_atomic  # type: ignore[method-assign,assignment]
    connections.all = _all  # type: ignore[method-assign]  # an instance attribute: this handler only

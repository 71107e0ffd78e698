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
form from that table plus the few aliases of the settings file (those may
use another engine). Everything that calls it, Django's handlers and the test
client's handling of them included, keeps working unchanged. A wrapper the
thread no longer holds (the registry replaced or dropped it) leaves the table
at the next walk, and a wrapper built but never held (a `copy()`) gives way to
the one the thread holds. `initialized_only=False` is Django's own.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.connection import BaseConnectionHandler

_local = threading.local()


def track(wrapper: Any) -> None:
    """File a database wrapper just created in this thread."""
    table: dict[str, Any] | None = getattr(_local, "wrappers", None)
    if table is None:
        table = _local.wrappers = {}
    table[wrapper.alias] = wrapper


def thread_connections() -> list[Any]:
    """Return the wrappers this thread holds: what `connections.all(initialized_only=True)` returns."""
    table: dict[str, Any] = getattr(_local, "wrappers", None) or {}
    held = connections._connections  # type: ignore[attr-defined]  # Django's thread-local storage, as all() reads it
    found = {}
    for alias in list(table):
        current = getattr(held, alias, None)  # the wrapper the thread holds now (a copy may have been filed)
        if current is None:
            del table[alias]  # dropped since: nothing of this alias to close
        else:
            found[alias] = table[alias] = current
    for alias in settings.DATABASES:
        if alias not in found and hasattr(held, alias):
            found[alias] = getattr(held, alias)
    return list(found.values())


def _all(initialized_only: bool = False) -> list[Any]:
    if initialized_only:
        return thread_connections()
    return list(BaseConnectionHandler.all(connections, initialized_only=False))


def install() -> None:
    """Answer `connections.all(initialized_only=True)` from the thread's table (idempotent)."""
    connections.all = _all  # type: ignore[method-assign]  # an instance attribute: this handler only

"""The PostgreSQL backend of tenant aliases: the connection budget and the shared pool live here.

The registry gives tenant primaries and replicas this engine (migration and
template aliases keep the plain one). Every new physical connection of such
an alias passes through `get_new_connection`, the one place the per-process
budget is enforced (`runtime.budget`), and every close through `_close`,
where a clean connection of a pooled alias goes back to the shared pool
(`runtime.pool`) instead of being closed. Before connecting, the wrapper
follows the alias's current registration: a tenant moved or registered
anew since this thread built its wrapper connects where it lives now, and
a tenant no longer registered fails closed rather than reaching a database
from an old description.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

from core.db.backends.postgresql import base
from routers.exceptions import TenantContextMissing
from routers.pool import Key, pool_key
from routers.runtime import runtime


class DatabaseWrapper(base.DatabaseWrapper):
    """A tenant connection that the process budgets and, behind a pooler, shares between threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget_owner = 0  # ident of the thread the budget counts this connection for
        self._reserved: bool | None = None  # kind reserved for the connect under way
        self._pool_key: Key | None = None
        self._discarding = False

    def connect(self) -> None:
        """Connect from the alias's current registration, then settle the budget's reservation."""
        current = connections.settings.get(self.alias)
        if current is None:
            raise TenantContextMissing(f"alias {self.alias!r} is not registered (tenant gone or moved)")
        self.settings_dict = current  # the registration may be newer than this thread's wrapper
        try:
            super().connect()
        finally:
            if self._reserved is not None:
                runtime.budget.settle(self, self._reserved)
                self._reserved = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        """Take an idle connection of this alias from the shared pool, or open one within the budget."""
        conn = None
        self._pool_key = None
        if self.settings_dict.get("SHARED_CONNECTIONS"):
            self._pool_key = pool_key(self.alias, conn_params)
            conn = runtime.pool.take(self._pool_key, str(conn_params.get("dbname", "")),
                                     check_after=self._idle_seconds(),
                                     ping_after=float(settings.TENANT_POOL_PING_SECONDS))
        self._reserved = runtime.budget.reserve(self.alias, from_pool=conn is not None)
        return conn if conn is not None else super().get_new_connection(conn_params)

    def _close(self) -> None:
        try:
            if self._pool_key is not None and self._shareable() and runtime.pool.give_back(
                    self._pool_key, self.connection):
                return
            super()._close()  # type: ignore[misc]  # untyped in django-stubs
        finally:
            runtime.budget.dropped(self)

    def _shareable(self) -> bool:
        """Return True when the connection may serve another request: clean, current, Django's time zone."""
        conn = self.connection
        return bool(
            not self._discarding and not self.errors_occurred and not self.in_atomic_block
            and not self.needs_rollback and conn is not None and not conn.closed
            and connections.settings.get(self.alias) is self.settings_dict
            and (not settings.USE_TZ or conn.info.parameter_status("TimeZone") == self.timezone_name)
        )

    def discard_connection(self) -> None:
        """Close the connection for good, never into the shared pool (evictions, a tenant gone)."""
        self._discarding = True
        try:
            self.close()
        finally:
            self._discarding = False

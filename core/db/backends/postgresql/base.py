"""Django's PostgreSQL backend, with health checks only for connections that sat idle.

With `CONN_HEALTH_CHECKS`, Django pings every persistent connection (`SELECT
1`, one round trip) before its first query in each request. A tenant request
typically touches two connections (the tenant's primary for the auth token,
a replica for the data), so a busy process pays two extra round trips per
request to learn what it knew a few milliseconds earlier: the connection
works. The check exists to catch connections that died while idle (a server
or PgBouncer restart, a network timeout), so this backend skips it for a
connection that opened a cursor less than `HEALTH_CHECK_IDLE_SECONDS` ago
without an error since (a key of the database entry; default: the setting
`DB_HEALTH_CHECK_IDLE_SECONDS`). 0 restores Django's behaviour of checking at
every request. Failures inside the window are handled as without health
checks: replicas fail over (`routers.guard`), a primary's error answers once.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base

from core.db import lifecycle


class DatabaseWrapper(base.DatabaseWrapper):
    """A PostgreSQL connection that remembers when it last completed a query."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_used = 0.0
        lifecycle.track(self)  # the per-request upkeep walks what this thread holds (core.db.lifecycle)

    def connect(self) -> None:
        super().connect()
        lifecycle.track(self)  # back in the upkeep's table (it leaves it while closed)

    def close_if_health_check_failed(self) -> None:
        recently = time.monotonic() - self.last_used < self._idle_seconds()
        if self.connection is not None and recently and not self.errors_occurred:
            self.health_check_done = True  # it answered a moment ago
            return
        super().close_if_health_check_failed()

    def _idle_seconds(self) -> float:
        value = self.settings_dict.get("HEALTH_CHECK_IDLE_SECONDS")
        return float(settings.DB_HEALTH_CHECK_IDLE_SECONDS if value is None else value)

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        self.last_used = time.monotonic()
        return cursor

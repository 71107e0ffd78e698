"""Development helpers, installed by `core.settings.local` only (never production or tests).

* `show_toolbar`: the debug toolbar's switch: loopback clients (`INTERNAL_IPS`),
  whether `DEBUG` is on or not (it stays off so errors remain JSON).
* `QueryCountMiddleware`: log how many queries each request sent to each
  database alias (tenant primary, replica, control plane).
"""

from __future__ import annotations

import contextvars
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("tessera.queries")
_counts: contextvars.ContextVar[Counter[str] | None] = contextvars.ContextVar("tessera_query_counts", default=None)


def show_toolbar(request: HttpRequest) -> bool:
    """Show the debug toolbar to clients on `INTERNAL_IPS` (loopback)."""
    return request.META.get("REMOTE_ADDR") in settings.INTERNAL_IPS


class _CountQueries:
    """An execute wrapper that counts each query against its alias for the running request."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counts = _counts.get()
        if counts is not None:
            counts[self.alias] += 1
        return execute(sql, params, many, context)


def _install(connection: Any, **kwargs: Any) -> None:
    # Installed once per connection object and left there: popping wrappers at the end
    # of a request could remove another one (the replica guard) added meanwhile.
    if not any(isinstance(wrapper, _CountQueries) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.insert(0, _CountQueries(connection.alias))


class QueryCountMiddleware:
    """Log `METHOD path -> status: N queries (alias=n, ...)` for every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        connection_created.connect(_install, dispatch_uid="tessera.count_queries")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for connection in connections.all(initialized_only=True):  # connected before this middleware
            _install(connection)
        counts: Counter[str] = Counter()
        token = _counts.set(counts)
        try:
            response = self.get_response(request)
        finally:
            _counts.reset(token)
        detail = ", ".join(f"{alias}={n}" for alias, n in sorted(counts.items()))
        logger.info("%s %s -> %s: %d queries%s", request.method, request.path, response.status_code,
                    sum(counts.values()), f" ({detail})" if detail else "")
        return response

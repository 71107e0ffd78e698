"""Structured logging: every record carries the request id and the tenant slug.

The values live in context variables so they follow a request through threads
started with `contextvars.copy_context()`, async views and Celery tasks. The
tenant slug is set by `routers.context.tenant_context()`; `core` does not import
`routers` (dependencies point the other way).
"""

from __future__ import annotations

import contextvars
import json
import logging
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("tessera_request_id", default="-")
tenant_slug_var: contextvars.ContextVar[str] = contextvars.ContextVar("tessera_log_tenant", default="-")
# The request's client address (core.clients.client_ip), for audit records; "" outside a request.
client_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("tessera_client_ip", default="")


class ContextFilter(logging.Filter):
    """Attach `request_id` and `tenant` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.tenant = tenant_slug_var.get()
        return True


class TextFormatter(logging.Formatter):
    """Human-readable line: time level logger [request_id tenant] message."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s tenant=%(tenant)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        _ensure_context(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        _ensure_context(record)
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "tenant": getattr(record, "tenant", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def _ensure_context(record: logging.LogRecord) -> None:
    # Records from handlers configured without the filter still get the fields.
    if not hasattr(record, "request_id"):
        ContextFilter().filter(record)

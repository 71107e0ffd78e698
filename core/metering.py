"""Per-request usage notes and the counts of records dropped on purpose.

`core` knows no tenant: the product notes what a request used (`usage_note`,
e.g. one export) and the tenants' usage middleware, which owns the request's
meter (`request_meter`), sends it to Redis with the request's own counts.
`dropped` counts what was deliberately not recorded (Redis down, a tenant
database refusing a security event) so the loss is visible, never silent.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from core import metrics

_meter: contextvars.ContextVar[dict[str, int] | None] = contextvars.ContextVar("tessera_meter", default=None)


def usage_note(measure: str, amount: int = 1) -> None:
    """Add `amount` to `measure` on the current request's meter (nothing outside a metered request)."""
    meter = _meter.get()
    if meter is not None:
        meter[measure] = meter.get(measure, 0) + amount


@contextmanager
def request_meter() -> Iterator[dict[str, int]]:
    """Open a fresh meter for the block and yield it (what `usage_note` added inside)."""
    meter: dict[str, int] = {}
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


class DropCounter:
    """Counts of records dropped, by kind, for this process (one owner, one `reset()`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def incr(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
        # Also in the shared metrics directory, so every process's drops reach /metrics.
        metrics.record(lambda: metrics.child(metrics.RECORDS_DROPPED, kind).inc())

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


dropped = DropCounter()

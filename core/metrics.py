"""Prometheus metrics written by every process (web and Celery workers) into one directory.

`prometheus_client` runs in multiprocess mode: each process writes its samples
to memory-mapped files under `PROMETHEUS_MULTIPROC_DIR` (set by the settings
before the library is imported) and `/metrics` sums them
(`core.metrics_views`). Every family here has labels, so no file is opened
until a first sample is written.

Metrics never fail a request: every write goes through `record()`, which
drops the sample when the directory is unusable (deleted, unwritable, full),
counts the drop in this process (`tessera_metrics_dropped_total`) and logs
the first one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

logger = logging.getLogger("tessera.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OTHER_TENANTS = "_other"

REQUESTS = Counter("tessera_http_requests", "HTTP requests answered.",
                   ["plane", "route", "method", "status"], registry=None)
LATENCY = Histogram("tessera_http_request_duration_seconds", "Time to answer an HTTP request.",
                    ["plane", "route", "method", "status"], buckets=LATENCY_BUCKETS, registry=None)
TENANT_REQUESTS = Counter("tessera_tenant_requests", "Tenant requests, by tenant for the busiest ones.",
                          ["tenant"], registry=None)
ROUTING = Counter("tessera_db_read_routing", "Read routing decisions of the database router.",
                  ["plane", "decision"], registry=None)
TASKS = Counter("tessera_celery_tasks", "Celery task outcomes.", ["task", "outcome"], registry=None)
# Per-process gauges: one series per live process (the pid label is added by prometheus_client).
CONNECTIONS = Gauge("tessera_db_open_connections", "Open tenant database connections of a process.",
                    ["server", "role", "connection"], multiprocess_mode="liveall", registry=None)
BUDGET = Gauge("tessera_db_connection_budget", "Per-process limit of open tenant connections.",
               ["kind"], multiprocess_mode="livemax", registry=None)
BREAKER = Gauge("tessera_replica_breaker_open", "1 while a process keeps a failed replica out of rotation.",
                ["server", "replica"], multiprocess_mode="livemax", registry=None)

RECORDS_DROPPED = Counter("tessera_records_dropped", "Records deliberately not written (core.metering.dropped).",
                          ["kind"], registry=None)
EXPORTS = Counter("tessera_exports", "Tenant exports ended or requeued, by outcome.", ["outcome"], registry=None)
EXPORT_DURATION = Histogram("tessera_export_duration_seconds", "Time from an export's request to its end.",
                            ["outcome"], buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0),
                            registry=None)

_drops = 0
_drops_lock = threading.Lock()
# (family, label values) -> child: `labels()` validates and locks on every call, about half
# the cost of a sample. Label values are bounded (docs/observability.md), so is this table.
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(family: Counter | Gauge | Histogram, *labels: str) -> Any:
    """Return `family.labels(*labels)`, created once per process."""
    key = (id(family), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = family.labels(*labels)
    return found


def record(write: Callable[[], object]) -> None:
    """Run one metric write; drop and count the sample if the metrics directory fails it."""
    try:
        write()
    except Exception as exc:  # an OSError, ValueError from mmap, ...: never the caller's problem
        _count_drop(exc)


def _count_drop(exc: BaseException) -> None:
    global _drops
    with _drops_lock:
        _drops += 1
        first = _drops == 1
    if first:
        logger.warning("metrics sample dropped (further drops are only counted): %s", exc)


def dropped() -> int:
    """Return how many samples this process dropped."""
    return _drops


def status_class(code: int) -> str:
    """Return "2xx" for 204, "5xx" for 503: the bounded status label."""
    return f"{min(max(code // 100, 1), 5)}xx"


class TopTenants:
    """Tell whether a tenant is among the `size` busiest this process has served.

    Hits are counted per slug in a bounded table; the top set is recomputed
    every `every` hits, so a request pays a dict increment and a set lookup.
    """

    def __init__(self, size: int, *, every: int = 256, table_max: int = 10_000) -> None:
        self.size, self.every, self.table_max = size, every, table_max
        self.hits: dict[str, int] = {}
        self.top: frozenset[str] = frozenset()
        self.seen = 0
        self.lock = threading.Lock()

    def label(self, slug: str) -> str:
        """Count a hit for `slug`; return its label (itself when in the top set, else `_other`)."""
        if self.size <= 0:
            return OTHER_TENANTS
        with self.lock:
            self.hits[slug] = self.hits.get(slug, 0) + 1
            self.seen += 1
            if self.seen % self.every == 1 or (len(self.top) < self.size and slug not in self.top):
                self._recompute()
            return slug if slug in self.top else OTHER_TENANTS

    def _recompute(self) -> None:
        ranked = sorted(self.hits.items(), key=lambda item: item[1], reverse=True)
        self.top = frozenset(slug for slug, _ in ranked[:self.size])
        if len(ranked) > self.table_max:  # forget the quietest half: bounded memory
            self.hits = dict(ranked[:self.table_max // 2])


class Throttle:
    """Let a call through at most once per `interval` seconds (per process)."""

    def __init__(self, interval: float) -> None:
        self.interval, self.next_at = interval, 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + self.interval
        return True


def refresh_gauges(refreshers: Iterable[Callable[[], None]], throttle: Throttle) -> None:
    """Run the per-process gauge refreshers when due; a failing one is dropped, never raised."""
    if not throttle.due():
        return
    for refresh in refreshers:
        record(refresh)

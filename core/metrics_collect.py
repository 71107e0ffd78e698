"""Scrape-time collectors: read at `/metrics`, cached a few seconds, never on the request path.

A collector that fails (a database or Redis down) yields nothing for that
scrape and logs; the other families are still served. Collectors are named in
`METRICS_COLLECTORS` (dotted paths) so that each layer registers its own
without `core` importing it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import redis
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core import metrics

logger = logging.getLogger("tessera.metrics")


class CachedCollector(Collector):
    """Serve the families of `gather()`, gathered at most once per METRICS_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._expires = 0.0

    def gather(self) -> list[Metric]:
        raise NotImplementedError

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # two scrapes at once query once
            if time.monotonic() >= self._expires:
                self._families = self._safely_gathered()
                self._expires = time.monotonic() + float(settings.METRICS_CACHE_SECONDS)
            return iter(list(self._families))

    def _safely_gathered(self) -> list[Metric]:
        try:
            return self.gather()
        except Exception:
            logger.warning("metrics collector %s failed", type(self).__name__, exc_info=True)
            return []


class CeleryQueueCollector(CachedCollector):
    """Report the length of the Celery queue (a Redis list on the broker)."""

    def gather(self) -> list[Metric]:
        family = GaugeMetricFamily("tessera_celery_queue_length", "Messages waiting in a Celery queue.",
                                   labels=["queue"])
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            queue = settings.CELERY_TASK_DEFAULT_QUEUE
            family.add_metric([queue], float(client.llen(queue)))
        finally:
            client.close()
        return [family]


class DroppedCollector(Collector):
    """Report the samples the serving process dropped (not shared: the directory may be what failed)."""

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("tessera_metrics_dropped", "Metric samples dropped by this process.")
        family.add_metric([], float(metrics.dropped()))
        yield family

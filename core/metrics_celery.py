"""Celery task outcomes (success, failure, retry) counted by task name, in the shared metrics directory.

prometheus_client picks its multiprocess mode when it is first imported
(from `PROMETHEUS_MULTIPROC_DIR`, which the settings export), so this module
must not load before the settings: `CoreConfig.ready()` imports it and
connects the handlers (a worker runs `django.setup()` before it consumes,
and its pool processes inherit the connections), not `core.celery`, which
loads first.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from celery import signals
from prometheus_client import multiprocess

from core import metrics
from core.metrics_middleware import process_refreshers


@functools.cache
def _gauges() -> tuple[Any, list[Any]]:
    """Return the throttle and the gauge refreshers, built once the first task ends (they read settings)."""
    return metrics.Throttle(1.0), process_refreshers()


def _count(sender: Any, outcome: str) -> None:
    name = str(getattr(sender, "name", None) or "unknown")
    metrics.record(lambda: metrics.child(metrics.TASKS, name, outcome).inc())
    throttle, refreshers = _gauges()
    metrics.refresh_gauges(refreshers, throttle)


def _on_success(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "success")


def _on_failure(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "failure")


def _on_retry(sender: Any = None, **kwargs: Any) -> None:
    _count(sender, "retry")


def _on_process_shutdown(**kwargs: Any) -> None:
    """Drop a finished pool process's per-process gauges (its counters stay summed)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        metrics.record(lambda: multiprocess.mark_process_dead(os.getpid(), directory))


def connect() -> None:
    """Connect the handlers (idempotent: each has a dispatch uid)."""
    signals.task_success.connect(_on_success, weak=False, dispatch_uid="tessera.metrics.success")
    signals.task_failure.connect(_on_failure, weak=False, dispatch_uid="tessera.metrics.failure")
    signals.task_retry.connect(_on_retry, weak=False, dispatch_uid="tessera.metrics.retry")
    signals.worker_process_shutdown.connect(_on_process_shutdown, weak=False,
                                            dispatch_uid="tessera.metrics.process_shutdown")

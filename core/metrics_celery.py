"""Celery task outcomes (success, failure, retry) counted by task name, in the shared metrics directory.

`core.celery` imports this module before Django's settings are loaded, and
prometheus_client picks its multiprocess mode when it is first imported
(from `PROMETHEUS_MULTIPROC_DIR`, which the settings export): so
`core.metrics` is imported only inside the handlers, once tasks run.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from celery import signals


@functools.cache
def _gauges() -> tuple[Any, list[Any]]:
    from core import metrics
    from core.metrics_middleware import process_refreshers

    return metrics.Throttle(1.0), process_refreshers()


def _count(sender: Any, outcome: str) -> None:
    from core import metrics

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
    from prometheus_client import multiprocess

    from core import metrics

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

"""Publish control-plane tasks, turning a broker outage into a clear API error.

`.delay()` with the broker down raises kombu's `OperationalError` after its
retries; left alone that is a 500 after the control-plane rows were committed.
Callers catch `QueueUnavailable`, undo what they wrote, and let it reach the
client as `503 queue_unavailable`. (The exports API in projects/ has its own
equivalent; this one serves tenants/ only.)
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from kombu.exceptions import OperationalError

from core.errors import ApiError

logger = logging.getLogger("tessera.queue")
# Fail in well under a second when the broker is down, instead of kombu's longer default.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class QueueUnavailable(ApiError):
    status_code = 503
    code = "queue_unavailable"
    detail = "The task queue is unavailable, so nothing was changed. Try again shortly."


def publish(task: Task, *args: Any) -> None:
    """Queue `task(*args)`, or raise QueueUnavailable when the broker cannot take it."""
    try:
        task.apply_async(args, retry=True, retry_policy=RETRY_POLICY)
    except (OperationalError, OSError) as exc:
        logger.warning("could not queue %s%r: %s", task.name, args, exc)
        raise QueueUnavailable() from exc

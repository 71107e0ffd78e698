"""Queue a Celery task from a request, or fail the request cleanly when the broker is down.

A request that records work and queues it must not answer 500 and leave a
row that waits forever for a task that was never sent. `enqueue_or_fail`
sends the task with a short, bounded publish retry; when the broker cannot
take it, it runs the caller's `undo` (delete what the request created) and
raises `QueueUnavailable`, which the API renders as
503 `{"code": "queue_unavailable"}` with `Retry-After`.

Call it once the rows the task reads are committed (e.g. from
`routers.tenant_on_commit`), so a worker never starts before they exist.

Services name the task (`"projects.run_export"`) instead of importing it: the
tasks module imports the services it calls, and an import back would be a
cycle. The name is looked up in the project's Celery app (`core.celery`), so the registered
task object sends it (a `TenantTask` still adds its tenant headers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kombu.exceptions import OperationalError

from core.celery import app
from core.errors import ApiError, CoreErrorCode

logger = logging.getLogger("tessera.queue")

# A refused connection fails in milliseconds; an unreachable host costs the
# connect timeout per attempt, so a request gives up after two quick retries.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
RETRY_AFTER_SECONDS = 5
_discovery_lock = threading.Lock()


class QueueUnavailable(ApiError):
    status_code = 503
    code = CoreErrorCode.QUEUE_UNAVAILABLE
    detail = "The task queue is unavailable; nothing was changed. Try again shortly."


def _registered(name: str) -> Any:
    """Return the project's task `name` (our app, not celery.current_app: that one is per thread).

    Autodiscovery is lazy: the first lookup of a name not registered yet imports every app's
    tasks module. One thread does it while the others wait: Celery runs the discovery once, so a
    thread that asked while another was still importing found nothing and failed the request.
    """
    if name not in app.tasks:
        with _discovery_lock:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_or_fail(task: Any, *args: Any, undo: Callable[[], object] | None = None, **kwargs: Any) -> Any:
    """Send `task(*args, **kwargs)`; if the broker cannot take it, run `undo` and raise QueueUnavailable.

    `task` is a task object or its registered name.
    """
    if isinstance(task, str):
        task = _registered(task)
    try:
        # A connection of its own, not the pool's: it reads the broker setting now and cannot be
        # a pooled socket the broker dropped. These calls are rare writes; a connect is cheap.
        with task.app.connection_for_write() as connection:
            return task.apply_async(args, kwargs, connection=connection, retry=True,
                                    retry_policy=PUBLISH_RETRY_POLICY)
    except (OperationalError, ConnectionError) as exc:
        logger.warning("could not queue %s: %s", getattr(task, "name", task), exc)
        if undo is not None:
            undo()
        raise QueueUnavailable(headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from exc

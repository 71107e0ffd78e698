"""Keep a provisioning job's heartbeat fresh while one of its steps runs.

A step can legitimately take long (a template rebuild migrates an empty
database; it may also wait for another process's rebuild). Heartbeats written
only between steps would make such a job look stalled to the watchdog. A side
thread touches `heartbeat_at` every quarter of `PROVISIONING_STALL_SECONDS`
while the step runs; it dies with its process, so a killed worker still stops
beating.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from tenants.models import JobStatus, ProvisioningJob

logger = logging.getLogger("tessera.provisioning")
MIN_INTERVAL_SECONDS = 0.2


def interval() -> float:
    """Return how often a running step touches its job's heartbeat."""
    return max(MIN_INTERVAL_SECONDS, settings.PROVISIONING_STALL_SECONDS / 4)


class Heartbeat:
    """Context manager: beat for job `job_id` from a daemon thread until the block ends."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.every = interval()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self._beat()
        finally:
            connections.close_all()  # this thread's own control-plane connection

    def _beat(self) -> None:
        try:
            ProvisioningJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                heartbeat_at=timezone.now())
        except DatabaseError:  # a blip must not kill the step; the next beat tries again
            logger.warning("heartbeat of provisioning job %s failed", self.job_id, exc_info=True)

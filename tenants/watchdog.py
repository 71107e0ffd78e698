"""The provisioning watchdog: rescue jobs whose worker died, then sweep orphan databases.

Celery beat runs it (`tenants.provisioning_watchdog`), and so does the
`provisioning_watchdog` command.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.queue import QueueUnavailable
from tenants import orphans, provisioning, selectors, services

logger = logging.getLogger("tessera.provisioning")


def provisioning_watchdog(*, sweep: bool = True) -> dict[str, int]:
    """Requeue or fail jobs that stopped making progress (their worker died), then sweep orphans.

    A job whose advisory lock a live session holds is only slow: it is
    counted as busy and left alone.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.PROVISIONING_STALL_SECONDS)
    counts: dict[str, int] = {**{outcome.value: 0 for outcome in provisioning.RescueOutcome}, "swept": 0}
    for job in selectors.stalled_jobs(heartbeat_before=cutoff):
        outcome = provisioning.job_rescue(job=job)
        if outcome == provisioning.RescueOutcome.REQUEUED:
            try:
                services.job_enqueue(job=job)
            except QueueUnavailable:  # still pending: the next round queues it again
                logger.warning("watchdog could not requeue job %s", job.pk)
        if outcome:
            counts[outcome] += 1
    if sweep:
        counts["swept"] = len(orphans.orphan_databases_sweep())
    return counts

"""The export watchdog: queue again, or fail, the current tenant's exports that stopped making progress."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core import metrics
from core.queue import QueueUnavailable, enqueue_or_fail
from projects import selectors, services
from projects.models import Export, ExportStatus

logger = logging.getLogger("tessera.exports")


def export_watchdog() -> dict[str, int]:
    """Queue again, or fail, the current tenant's exports that stopped making progress; return the counts.

    An export is stalled when it has been `queued` longer than EXPORT_STALL_SECONDS
    (its message was lost, or refused while the tenant was suspended) or `running`
    without a batch written for that long (its worker was killed). It is queued
    again until the watchdog has done so EXPORT_MAX_ATTEMPTS times, then failed
    with an error that says so. Each change is a compare-and-set, so two
    watchdogs never queue one export twice.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.EXPORT_STALL_SECONDS)
    counts = {"requeued": 0, "failed": 0}
    for export in selectors.stalled_exports(before=cutoff):
        same = Export.objects.filter(pk=export.pk, status=export.status, queued_at=export.queued_at,
                                     heartbeat_at=export.heartbeat_at)
        if export.attempts >= settings.EXPORT_MAX_ATTEMPTS:
            error = (f"The export stalled {export.attempts + 1} times (its worker was lost); "
                     "request a new export.")
            if same.update(status=ExportStatus.FAILED, error=error, finished_at=timezone.now()):
                counts["failed"] += 1
                metrics.record(lambda: metrics.child(metrics.EXPORTS, "stalled").inc())
        elif same.update(status=ExportStatus.QUEUED, queued_at=timezone.now(), heartbeat_at=None,
                         attempts=F("attempts") + 1):
            counts["requeued"] += 1
            metrics.record(lambda: metrics.child(metrics.EXPORTS, "requeued").inc())
            try:
                enqueue_or_fail(services.RUN_EXPORT, export.pk)
            except QueueUnavailable:  # still queued: the next round queues it again
                logger.warning("export watchdog could not queue export %s", export.pk)
    return counts

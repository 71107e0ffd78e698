"""Requeue or fail provisioning jobs that stopped making progress."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants import services


class Command(BaseCommand):
    help = "Requeue or fail stalled provisioning jobs (also run every 15 s by Celery beat)."

    def handle(self, *args: Any, **opts: Any) -> None:
        counts = services.provisioning_watchdog()
        self.stdout.write(f"requeued {counts['requeued']}, failed {counts['failed']}")

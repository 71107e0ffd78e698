"""Back up a tenant from the command line, showing each step as it finishes.

The job runs in this process (nothing is queued), like `create_tenant`; the
backup is listed by the API and the admin like any other.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from tenants import backups, datajobs, operations, selectors
from tenants.models import Backup, BackupStatus


class Command(BaseCommand):
    help = "Take a verified pg_dump backup of a tenant (in this process, with progress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        tenant = selectors.tenant_get(slug=opts["slug"], primary=True)
        if tenant is None:
            raise CommandError(f"not_found: no tenant {opts['slug']!r}")
        try:
            backup = backups.backup_create(tenant=tenant, requested_by=operations.actor_of_cli(), enqueue=False)
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc

        def progress(step: str, seconds: float) -> None:
            self.stdout.write(f"  [{time.perf_counter() - started:6.2f}s] {step} done ({seconds:.2f}s)")

        self.stdout.write(f"backup {backup.pk} of {tenant.slug} ({tenant.server_id}/{tenant.database}): dump -> verify")
        assert backup.job_id is not None
        datajobs.data_job_run(job_id=backup.job_id, progress=progress)
        backup = Backup.objects.using(CONTROL_ALIAS).get(pk=backup.pk)
        if backup.status != BackupStatus.DONE:
            raise CommandError(f"backup {backup.pk} {backup.status}: {backup.error}")
        self.stdout.write(self.style.SUCCESS(
            f"backup {backup.pk} done: {backup.size} bytes, sha256 {backup.checksum} "
            f"({time.perf_counter() - started:.2f}s)"))

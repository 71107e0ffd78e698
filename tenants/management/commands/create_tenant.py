"""Provision a tenant from the command line, showing each step as it finishes.

The job runs in this process and nothing is queued, so neither a worker nor
the broker is involved (or needed). Should this process die, the watchdog
finds the job stalled and a worker resumes it.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from tenants import operations, provisioning, selectors, services
from tenants.models import TenantStatus


class Command(BaseCommand):
    help = "Create and provision a tenant (in this process, with progress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", help="display name (default: the slug)")
        parser.add_argument("--admin-email", required=True, help="the tenant admin's email (and username)")
        parser.add_argument("--admin-password", help="default: generated and printed once")
        parser.add_argument("--server", help="server name (default: least loaded)")
        parser.add_argument("--plan", default="free")
        parser.add_argument("--queue", action="store_true", help="queue it for a Celery worker instead")

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.perf_counter()
        try:
            tenant, generated = services.tenant_create(
                slug=opts["slug"], name=opts["name"] or opts["slug"], admin_email=opts["admin_email"],
                admin_password=opts["admin_password"], server=opts["server"], plan=opts["plan"],
                enqueue=opts["queue"], actor=operations.actor_of_cli())
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        self.stdout.write(f"tenant {tenant.slug} placed on server {tenant.server_id} as {tenant.database}")
        if generated:
            self.stdout.write(f"admin password (shown once): {generated}")
        if opts["queue"]:
            self.stdout.write("queued for a worker; follow it with GET /api/platform/tenants/<slug>/")
            return
        job = selectors.latest_job(tenant=tenant)
        assert job is not None  # tenant_create writes one

        def progress(step: str, seconds: float) -> None:
            self.stdout.write(f"  [{time.perf_counter() - started:6.2f}s] {step} done ({seconds:.2f}s)")

        self.stdout.write("provisioning: template -> create_database -> admin_user -> activate")
        status = provisioning.job_run(job_id=job.pk, progress=progress)
        tenant.refresh_from_db(using=CONTROL_ALIAS)
        if tenant.status != TenantStatus.ACTIVE:
            raise CommandError(f"provisioning {status}: {tenant.error}")
        self.stdout.write(self.style.SUCCESS(f"{tenant.slug} is active ({time.perf_counter() - started:.2f}s)"))

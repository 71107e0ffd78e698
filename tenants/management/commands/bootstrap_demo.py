"""Create the demo platform admin and a seeded demo tenant for `make run`; idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from tenants import operations, provisioning, selectors, services
from tenants.models import TenantStatus

DEMO_ADMIN = "admin"
DEMO_PASSWORD = "tessera-admin"  # noqa: S105 - demo credentials, printed to the developer
DEMO_TENANT = "demo"
DEMO_TENANT_ADMIN = "owner@demo.test"
DEMO_TENANT_PASSWORD = "demo-owner-pass"  # noqa: S105


class Command(BaseCommand):
    help = "Create the demo platform admin and demo tenant with sample data (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--summary", action="store_true", help="only print URLs and credentials")
        parser.add_argument("--port", type=int, default=8000,
                            help="the port the web server listens on (make run passes TESSERA_WEB_PORT)")

    def handle(self, *args: Any, summary: bool = False, port: int = 8000, **options: Any) -> None:
        if summary:
            self._print_summary(port)
            return
        self._ensure_platform_admin()
        self._ensure_demo_tenant()
        call_command("seed_demo", tenant=DEMO_TENANT, stdout=self.stdout)

    def _ensure_platform_admin(self) -> None:
        users = get_user_model().objects
        if not users.filter(username=DEMO_ADMIN).exists():
            users.create_superuser(DEMO_ADMIN, "admin@example.com", DEMO_PASSWORD)
            self.stdout.write(f"created platform admin {DEMO_ADMIN!r}")

    def _ensure_demo_tenant(self) -> None:
        services.servers_sync()
        tenant = selectors.tenant_get(slug=DEMO_TENANT)
        if tenant is None:
            tenant, _ = services.tenant_create(slug=DEMO_TENANT, name="Demo Inc.", admin_email=DEMO_TENANT_ADMIN,
                                               admin_password=DEMO_TENANT_PASSWORD, plan="pro", enqueue=False,
                                               actor=operations.actor_of_cli())
        job = selectors.latest_job(tenant=tenant)
        if tenant.status != TenantStatus.ACTIVE and job is not None:
            if tenant.status == TenantStatus.FAILED:
                services.tenant_retry(slug=DEMO_TENANT)
            provisioning.job_run(job_id=job.pk)  # in-process: the worker may not be up yet
            self.stdout.write(f"demo tenant {DEMO_TENANT!r} provisioned")

    def _print_summary(self, port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        tenant_base = f"http://{DEMO_TENANT}.{settings.TENANT_BASE_DOMAIN}:{port}"
        lines = [
            "",
            "Tessera is running:",
            f"  health       {base}/healthz   readiness {base}/readyz",
            f"  API docs     {base}/api/docs/  ReDoc {base}/api/redoc/  (schema {base}/api/schema/)",
            f"  Django admin {base}/admin/   user {DEMO_ADMIN} / {DEMO_PASSWORD}",
            f"  platform API {base}/api/platform/  token: POST /api/platform/auth/token/ "
            f"{{\"username\": \"{DEMO_ADMIN}\", \"password\": \"{DEMO_PASSWORD}\"}}",
            f"  demo tenant  {tenant_base}/api/  (or any host with header 'X-Tenant: {DEMO_TENANT}')",
            f"               admin {DEMO_TENANT_ADMIN} / {DEMO_TENANT_PASSWORD}; users alice, bob, carol / "
            "password-123",
            "  try:",
            f"    curl -s -X POST {base}/api/auth/token/ -H 'X-Tenant: {DEMO_TENANT}' "
            "-H 'Content-Type: application/json' "
            f"-d '{{\"username\": \"{DEMO_TENANT_ADMIN}\", \"password\": \"{DEMO_TENANT_PASSWORD}\"}}'",
            "  logs         .local/log/web.log, .local/log/worker.log",
            "  stop         make stop (app) or make down (everything)",
        ]
        self.stdout.write("\n".join(lines))

"""Create the demo platform admin (and demo tenant) for `make run`; idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

DEMO_ADMIN = "admin"
DEMO_PASSWORD = "tessera-admin"  # noqa: S105 - demo credentials, printed to the developer


class Command(BaseCommand):
    help = "Create the demo platform admin and demo tenant (safe to run again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--summary", action="store_true", help="only print URLs and credentials")

    def handle(self, *args: Any, summary: bool = False, **options: Any) -> None:
        if summary:
            self._print_summary()
            return
        self._ensure_platform_admin()

    def _ensure_platform_admin(self) -> None:
        users = get_user_model().objects.db_manager("default")
        if not users.filter(username=DEMO_ADMIN).exists():
            users.create_superuser(DEMO_ADMIN, "admin@example.com", DEMO_PASSWORD)
            self.stdout.write(f"created platform admin {DEMO_ADMIN!r}")

    def _print_summary(self) -> None:
        base = "http://127.0.0.1:8000"
        lines = [
            "",
            "Tessera is running:",
            f"  health      {base}/healthz   readiness {base}/readyz",
            f"  admin       {base}/admin/    user {DEMO_ADMIN} / {DEMO_PASSWORD}",
            f"  tenant base domain: {settings.TENANT_BASE_DOMAIN}",
            "  logs        .local/log/web.log, .local/log/worker.log",
            "  stop        make stop (app) or make down (everything)",
        ]
        self.stdout.write("\n".join(lines))

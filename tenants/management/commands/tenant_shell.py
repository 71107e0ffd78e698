"""Open Django's shell inside one tenant's context (`make shell TENANT=<slug>`).

Every option of `manage.py shell` works (`-c`, `-i`, code on stdin); tenant
models read and write that tenant's databases, as in a request of the tenant.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.shell import Command as ShellCommand

from routers import tenant_context
from tenants import resolution, selectors


class Command(ShellCommand):
    help = "Run a Python shell (or -c code, or stdin) inside an active tenant's context."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant to enter")
        super().add_arguments(parser)

    def handle(self, **options: Any) -> None:
        slug = options.pop("slug")
        spec = resolution.active_spec(slug)
        if spec is None:
            tenant = selectors.tenant_get(slug=slug, primary=True)
            state = "does not exist" if tenant is None else f"is {tenant.status}, not active"
            raise CommandError(f"Tenant '{slug}' {state}.")
        with tenant_context(spec):
            super().handle(**options)

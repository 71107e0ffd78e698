"""The fleet benchmark's baseline: Django's `migrate --database <alias>`, one tenant database after another.

    BENCH_FLEET_MIGRATIONS=v1|v2 python -m bench.fleet_loop slug,slug,... [APP MIGRATION]     (bench.settings)

With APP MIGRATION, each database is migrated to that migration (forwards or
backwards), as `migrate APP MIGRATION --database <alias>` does.

One process, one Django start-up, then the loop. A shell loop of `manage.py
migrate --database ...` cannot work here (tenant aliases are registered at
run time from the control plane), and would pay Django's start-up once per
database on top.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


def migrate_each(slugs: list[str], target: list[str] | None = None) -> None:
    """Run `migrate [target] --database` on each tenant's primary, in slug order, closing each connection after."""
    from django.core.management import call_command
    from django.db import connections

    from routers import ensure_registered, unregister
    from tenants import selectors
    from tenants.models import Tenant

    for tenant in Tenant.objects.filter(slug__in=slugs).order_by("slug"):
        spec = selectors.tenant_spec(tenant)
        ensure_registered(spec)
        call_command("migrate", *(target or []), database=spec.direct_alias, interactive=False)
        connections[spec.direct_alias].close()
        unregister(spec.slug)


if __name__ == "__main__":
    import django

    django.setup()
    migrate_each(sys.argv[1].split(","), sys.argv[2:4] or None)

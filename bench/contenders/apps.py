"""The tenancy-off and django-tenants contenders: tenant transactions on their one database.

Tessera's services open their transactions with `routers.tenant_atomic()`,
which names the current tenant's alias. The two contenders without Tessera's
routing have no tenant context and one database alias, `default` (django-tenants
switches schemas on it), so this app makes the transaction helpers name
`default` there. Loaded only by those contenders' settings.
"""

from __future__ import annotations

from django.apps import AppConfig


class SingleDatabaseConfig(AppConfig):
    name = "bench.contenders"
    label = "bench_contenders"

    def ready(self) -> None:
        from routers import context, transaction

        def default_alias() -> str:
            return "default"

        context.current_alias = default_alias
        transaction.current_alias = default_alias  # imported by name there

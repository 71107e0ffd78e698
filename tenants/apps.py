from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        """Connect the start-up sync of database servers and the CORS origin check (no queries here)."""
        from celery.signals import worker_init
        from corsheaders.signals import check_request_enabled

        from tenants import checks, cors, signals

        check_request_enabled.connect(cors.origin_allowed, dispatch_uid="tenants-cors")
        checks.register()
        post_migrate.connect(signals.sync_after_migrate, sender=self, dispatch_uid="tenants-servers-sync")
        worker_init.connect(signals.sync_at_worker_start, dispatch_uid="tenants-servers-sync", weak=False)

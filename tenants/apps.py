from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        """Connect the start-up sync of database servers (no queries here)."""
        from celery.signals import worker_init

        from tenants import signals

        post_migrate.connect(signals.sync_after_migrate, sender=self, dispatch_uid="tenants-servers-sync")
        worker_init.connect(signals.sync_at_worker_start, dispatch_uid="tenants-servers-sync", weak=False)

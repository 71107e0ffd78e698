from django.apps import AppConfig


class MigrationsToolingConfig(AppConfig):
    name = "migrations_tooling"
    verbose_name = "Fleet migrations"

    def ready(self) -> None:
        from migrations_tooling.backfill import discover_backfills

        discover_backfills()

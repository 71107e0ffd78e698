from django.apps import AppConfig


class MigrationsToolingConfig(AppConfig):
    name = "migrations_tooling"

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "bench.peers.django_tenants_app"
    label = "customers"
    verbose_name = "django-tenants tenants (benchmark peer)"

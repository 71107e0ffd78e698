"""Settings of the django-tenants peer: tenancy-off settings plus django-tenants' own pieces."""

from bench.contenders.settings_off import *  # noqa: F403
from bench.contenders.settings_off import MIDDLEWARE, SERVER, database
from core.settings.base import DB_IDLE_IN_TRANSACTION_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS

DATABASES = {"default": database("tessera_bench_dt", SERVER.primary, pooled=False,
                                 ENGINE="django_tenants.postgresql_backend")}
# Direct connections take the timeouts at connect, like Tessera's direct aliases.
DATABASES["default"]["OPTIONS"]["options"] = (
    f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS} "
    f"-c idle_in_transaction_session_timeout={DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}")
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

SHARED_APPS = [
    "django_tenants",
    "bench.peers.django_tenants_app",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "core",
]
TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework.authtoken", "projects"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
TENANT_MODEL = "customers.Client"
TENANT_DOMAIN_MODEL = "customers.Domain"
# Documented optimisation: one `SET search_path` per request instead of per cursor.
TENANT_LIMIT_SET_CALLS = True
MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware", *MIDDLEWARE]
CACHES = {"default": {**CACHES["default"], "KEY_FUNCTION": "django_tenants.cache.make_key"}}  # noqa: F405

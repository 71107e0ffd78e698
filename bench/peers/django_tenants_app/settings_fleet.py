"""Settings of the django-tenants peer for the fleet benchmark: the peer's settings, its fleet on server b.

The same peer (`settings`), with three changes: its own control database
(`tessera_bench_dt_fleet`) on server b, where Tessera's fleet databases live;
the tenant apps of a Tessera tenant database plus the fleet test app, whose
migration set `BENCH_FLEET_MIGRATIONS` picks (v1, or v2 with one more
migration), as in bench/settings.py; and `BENCH_FLEET_PARALLEL` worker
processes for `migrate_schemas --executor=multiprocessing`.
"""

import os

from bench.peers.django_tenants_app.settings import *  # noqa: F403
from bench.peers.django_tenants_app.settings import DATABASES, SHARED_APPS
from bench.peers.django_tenants_fleet import CONTROL_DB, SERVER
from core.dbservers import parse_servers
from core.settings.base import TENANT_DB_SERVERS

_server = parse_servers(TENANT_DB_SERVERS)[SERVER]
DATABASES = {"default": {**DATABASES["default"], "NAME": CONTROL_DB, "HOST": _server.primary.host,
                         "PORT": str(_server.primary.port), "USER": _server.user, "PASSWORD": _server.password}}
# What a Tessera tenant database holds (the "both" and "tenant" planes) plus the fleet test app.
TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
               "rest_framework.authtoken", "django.contrib.admin", "projects", "tests.fleetapp"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
MIGRATION_MODULES = {"fleetapp": f"tests.fleetapp.migrations_{os.environ.get('BENCH_FLEET_MIGRATIONS', 'v1')}"}
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("BENCH_FLEET_PARALLEL", "4"))

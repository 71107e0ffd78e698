"""Tenancy off: the same views and models against one database, no tenant code on the path.

No tenant middleware, no read-your-writes middleware, no database router, no
tenant cache key function. The database is on server a behind the same
PgBouncer that fronts the tenant databases there, with the same pooling
policy (persistent connections, health checks, no server-side cursors).
`BENCH_DIRECT=1` points at the primary itself, for migrations.
"""

import os
from typing import Any

from core.dbservers import Endpoint, parse_servers
from core.settings.base import *  # noqa: F403
from core.settings.base import (
    CACHES,
    DB_CONN_MAX_AGE,
    DB_CONNECT_TIMEOUT,
    INSTALLED_APPS,
    LOGGING,
    METRICS_COLLECTORS,
    METRICS_PROCESS_GAUGES,
    MIDDLEWARE,
    PLAIN_HTTP,
    REST_FRAMEWORK,
    TENANT_DB_SERVERS,
)

SERVER = parse_servers(TENANT_DB_SERVERS)["a"]
TENANCY_APPS = ("routers", "tenants", "migrations_tooling")


def database(name: str, endpoint: Endpoint, *, pooled: bool, **extra: Any) -> dict[str, Any]:
    """Return a DATABASES entry on server a with the tenant aliases' pooling policy."""
    return {
        "ENGINE": "core.db.backends.postgresql", "NAME": name, "USER": SERVER.user,
        "PASSWORD": SERVER.password, "HOST": endpoint.host, "PORT": str(endpoint.port),
        "CONN_MAX_AGE": DB_CONN_MAX_AGE, "CONN_HEALTH_CHECKS": True, "DISABLE_SERVER_SIDE_CURSORS": pooled,
        "OPTIONS": {"connect_timeout": DB_CONNECT_TIMEOUT, "application_name": "tessera-bench"}, **extra,
    }


_direct = os.environ.get("BENCH_DIRECT") == "1" or SERVER.pooler is None
DATABASES = {"default": database("tessera_bench_plain", SERVER.primary if _direct else SERVER.pooler,
                                 pooled=not _direct)}
DATABASE_ROUTERS: list[str] = []
INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in TENANCY_APPS]
# No tenant context and one alias (django-tenants switches schemas on it): tenant_atomic() names it.
TENANT_SINGLE_DATABASE_ALIAS = "default"
# Every middleware of the tenancy apps goes (tenant resolution, usage metering, read-your-writes).
_TENANCY = tuple(f"{app}." for app in TENANCY_APPS)
MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith(_TENANCY)]
METRICS_COLLECTORS = [name for name in METRICS_COLLECTORS if not name.startswith(_TENANCY)]
METRICS_PROCESS_GAUGES = [name for name in METRICS_PROCESS_GAUGES if not name.startswith(_TENANCY)]
ROOT_URLCONF = "bench.contenders.urls"
CACHES = {"default": {key: value for key, value in CACHES["default"].items() if key != "KEY_FUNCTION"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
LOGGING["root"]["level"] = "WARNING"
globals().update(PLAIN_HTTP)  # gunicorn on loopback, plain http

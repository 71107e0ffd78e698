"""Tenancy on: the shipped stack, with its own control plane and tenant databases."""

from core.settings.base import *  # noqa: F403
from core.settings.base import DATABASES, LOGGING, PLAIN_HTTP, REST_FRAMEWORK

globals().update(PLAIN_HTTP)  # gunicorn on loopback, plain http

CONTROL_DB = "tessera_bench_http"
for _alias in ("default", "default_replica"):
    DATABASES[_alias]["NAME"] = CONTROL_DB
TENANT_DB_NAME_PREFIX = "tbh_"
TENANT_TEMPLATE_DB = "tessera_bench_http_template"
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
LOGGING["root"]["level"] = "WARNING"

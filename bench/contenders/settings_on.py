"""Tenancy on: the shipped stack, with its own control plane and tenant databases."""

from core.settings.base import *  # noqa: F403
from core.settings.base import DATABASES, LOGGING, PLAIN_HTTP, REST_FRAMEWORK, TENANT_PLANS

globals().update(PLAIN_HTTP)  # gunicorn on loopback, plain http

CONTROL_DB = "tessera_bench_http"
for _alias in ("default", "default_replica"):
    DATABASES[_alias]["NAME"] = CONTROL_DB
TENANT_DB_NAME_PREFIX = "tbh_"
TENANT_TEMPLATE_DB = "tessera_bench_http_template"
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
# The tenant API's rates lifted (its views name their throttles; the checks still run):
# one client calls as fast as it can.
TENANT_THROTTLE_RATES = {"tenant": "1000000/min", "tenant_user": "1000000/min", "tenant_anon": "1000000/min"}
TENANT_PLANS = {name: {**limits, "api_rate": "1000000/min", "user_rate": "1000000/min"}
                for name, limits in TENANT_PLANS.items()}
LOGGING["root"]["level"] = "WARNING"

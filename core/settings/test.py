"""Settings for `make test`: the same real services as local, separate databases.

The test suite creates and owns `tessera_test_control` (see tests/conftest.py)
and tenant databases with the `tt_` prefix, so a run never touches the demo
platform served by `make run`.
"""

import os
import tempfile

from .base import *  # noqa: F403
from .base import (
    DATABASE_PLANES,
    DATABASES,
    INSTALLED_APPS,
    LOGGING,
    METRICS_DIR_FROM_ENV,
    PLAIN_HTTP,
    TENANT_PLANS,
    env,
)

globals().update(PLAIN_HTTP)  # the test client and live servers speak plain http

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="test-secret-key-not-for-production")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
# The suite signs in far more often than any person: tests of the budgets set their own.
SIGNIN_IP_RATE = env.str("SIGNIN_IP_RATE", default="1000000/min")
SIGNIN_ACCOUNT_RATE = env.str("SIGNIN_ACCOUNT_RATE", default="1000000/min")
SIGNIN_CONCURRENCY = env.int("SIGNIN_CONCURRENCY", default=8)

_TEST_CONTROL_DB = env.str("TEST_CONTROL_DB", default="tessera_test_control")
for _alias in ("default", "default_replica"):
    DATABASES[_alias]["NAME"] = _TEST_CONTROL_DB
    DATABASES[_alias]["TEST"] = {"NAME": _TEST_CONTROL_DB, "MIRROR": None}

TENANT_DB_NAME_PREFIX = env.str("TENANT_DB_NAME_PREFIX", default="tt_")
TENANT_TEMPLATE_DB = env.str("TENANT_TEMPLATE_DB", default="tessera_test_template")
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="tessera-test")
# A fresh metrics directory per run; processes the suite starts inherit it through the environment.
METRICS_DIR = METRICS_DIR_FROM_ENV or tempfile.mkdtemp(prefix="tessera-test-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")
# The local poolers' include files are shared with `make run`: only the tests of plan limits
# let the app rewrite them (tests/tenants/test_limits.py), the rest of the suite leaves them be.
PGBOUNCER_DATABASES_FILES = {}

# A tenant-plane app whose migration set tests switch with MIGRATION_MODULES.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.fleetapp"]
DATABASE_PLANES = {**DATABASE_PLANES, "tenant": [*DATABASE_PLANES["tenant"], "fleetapp"]}
MIGRATION_MODULES = {"fleetapp": "tests.fleetapp.migrations_v1"}
# Dumps of the suite's tenants stay apart from the demo platform's (file-system storage only).
if STORAGES["backups"]["BACKEND"].endswith("FileSystemStorage"):  # noqa: F405
    STORAGES["backups"]["OPTIONS"] = {"location": env.str(  # noqa: F405
        "BACKUP_STORAGE_LOCATION", default=str(BASE_DIR / ".local" / "backups-test"))}  # noqa: F405
# Tests create more users and projects than a free plan's quotas allow; the quota tests set their own
# limits (tests/projects/test_plan_limits.py). Connection limits, timeouts and rates stay the plans'.
TENANT_PLANS = {name: {**limits, "max_users": None, "max_projects": None, "max_export_rows": None}
                for name, limits in TENANT_PLANS.items()}

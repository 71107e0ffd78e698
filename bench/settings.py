"""Settings for benchmarks: the test settings (with the fleet test app) on separate databases."""

import os

from core.settings.test import *  # noqa: F403
from core.settings.test import DATABASES

for _alias in ("default", "default_replica"):
    DATABASES[_alias]["NAME"] = "tessera_bench_control"
TENANT_DB_NAME_PREFIX = "tb_"
TENANT_TEMPLATE_DB = "tessera_bench_template"
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench"
MIGRATION_MODULES = {"fleetapp": f"tests.fleetapp.migrations_{os.environ.get('BENCH_FLEET_MIGRATIONS', 'v1')}"}

"""Settings for the scale benchmark: the bench settings on a control plane and tenant databases of its own.

Production password hashers (the platform API hashes the admin password in
the request) and no throttling (the hot-set load would measure the limits).
"""

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES, REST_FRAMEWORK
from core.settings.base import PASSWORD_HASHERS  # noqa: F401 - what production pays per creation

for _alias in ("default", "default_replica"):
    DATABASES[_alias]["NAME"] = "tessera_bench_scale"
TENANT_DB_NAME_PREFIX = "tbs_"
TENANT_TEMPLATE_DB = "tessera_bench_scale_template"
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench-scale"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}

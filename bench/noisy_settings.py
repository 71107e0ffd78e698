"""Settings of the noisy-neighbour benchmark: the local settings, rates lifted (one client
reads as fast as it can), every plan's connection and statement limits kept as defined,
and the app rewriting the local poolers' include files (pool sizes by plan)."""

from core.settings.local import *  # noqa: F403
from core.settings.local import TENANT_PLANS

TENANT_THROTTLE_RATES = {"tenant": "1000000/min", "tenant_user": "1000000/min", "tenant_anon": "1000000/min"}
TENANT_PLANS = {name: {**limits, "api_rate": "1000000/min", "user_rate": "1000000/min"}
                for name, limits in TENANT_PLANS.items()}
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench-noisy"  # nothing consumes it

"""Settings of the sign-in benchmark: the local settings (Argon2 first, the real bound on
password checks), with the per-IP and per-account budgets lifted: every attacker here
shares 127.0.0.1, while the case measured is an attack from many addresses."""

from core.settings.local import *  # noqa: F403

SIGNIN_IP_RATE = "1000000/min"
SIGNIN_ACCOUNT_RATE = "1000000/min"
TENANT_THROTTLE_RATES = {"tenant": "1000000/min", "tenant_user": "1000000/min", "tenant_anon": "1000000/min"}
CELERY_TASK_DEFAULT_QUEUE = "tessera-bench-login"  # nothing consumes it: purged after the run

"""Live tenant moves between servers (tenants.moving, docs/operations.md)."""

from .environment import env

# Live tenant moves (tenants.moving): PostgreSQL 15 lets only a superuser create a subscription, so
# the move creates it as TENANT_MOVE_ADMIN_USER on the target server ("": the server's own user).
TENANT_MOVE_ADMIN_USER = env.str("TENANT_MOVE_ADMIN_USER", default="")
TENANT_MOVE_ADMIN_PASSWORD = env.str("TENANT_MOVE_ADMIN_PASSWORD", default="")
TENANT_MOVE_COPY_TIMEOUT_SECONDS = env.float("TENANT_MOVE_COPY_TIMEOUT_SECONDS", default=3600.0)
TENANT_MOVE_CUTOVER_TIMEOUT_SECONDS = env.float("TENANT_MOVE_CUTOVER_TIMEOUT_SECONDS", default=10.0)
TENANT_MOVE_LOCK_TIMEOUT_MS = env.int("TENANT_MOVE_LOCK_TIMEOUT_MS", default=5_000)
TENANT_MOVE_BLOCK_TTL_SECONDS = env.int("TENANT_MOVE_BLOCK_TTL_SECONDS", default=60)
TENANT_MOVE_RETRY_AFTER_SECONDS = env.int("TENANT_MOVE_RETRY_AFTER_SECONDS", default=1)

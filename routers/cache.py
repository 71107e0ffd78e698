"""Cache keys that can never collide between tenants (django-redis KEY_FUNCTION).

A tenant's keys carry its id as well as its slug (`t:<id>:<slug>`): a tenant
deleted and re-created under the same slug is another incarnation with
another id, so nothing its predecessor cached can ever be read by it, even if
the purge at deletion (`tenant_keys_purge`) did not happen (Redis down).
"""

from __future__ import annotations

import logging

from routers.context import current_tenant_or_none, tenant_context
from routers.spec import TenantSpec

logger = logging.getLogger("tessera.cache")


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    """Prefix `key` with the current tenant incarnation (`t:<id>:<slug>`) or the control plane (`c`)."""
    spec = current_tenant_or_none()
    scope = f"t:{spec.tenant_id or 0}:{spec.slug}" if spec else "c"
    return f"{key_prefix}:{version}:{scope}:{key}"


def tenant_keys_purge(spec: TenantSpec) -> None:
    """Delete every cache key of the tenant incarnation `spec` (best effort: its keys are unreachable anyway)."""
    from django.core.cache import cache

    try:
        with tenant_context(spec):
            cache.delete_pattern("*")  # type: ignore[attr-defined]  # the key function scopes it to `spec`
    except Exception:  # a deletion must not fail over its cache: the keys expire and no one can read them
        logger.exception("could not purge the cache keys of tenant %s", spec.slug)

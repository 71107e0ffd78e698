"""Cache keys that can never collide between tenants (django-redis KEY_FUNCTION).

A tenant's keys carry its id as well as its slug (`t:<id>:<slug>`): a tenant
deleted and re-created under the same slug is another incarnation with
another id, so nothing its predecessor cached can ever be read by it, even if
the purge at deletion (`tenant_keys_purge`) did not happen (Redis down).
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django_redis.util import CacheKey

from routers.context import current_tenant_or_none
from routers.spec import TenantSpec

logger = logging.getLogger("tessera.cache")


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    """Prefix `key` with the current tenant incarnation (`t:<id>:<slug>`) or the control plane (`c`)."""
    spec = current_tenant_or_none()
    scope = f"t:{spec.tenant_id or 0}:{spec.slug}" if spec else "c"
    return f"{key_prefix}:{version}:{scope}:{key}"


def tenant_key_pattern(spec: TenantSpec, key_prefix: str = "", *, every_incarnation: bool = False) -> str:
    """Return a glob matching every key (any version) of the incarnation `spec`, or of every incarnation of its slug."""
    ident = "*" if every_incarnation else str(spec.tenant_id or 0)
    prefix = "".join(f"[{c}]" if c in "*?[]\\" else c for c in key_prefix)
    return f"{prefix}:*:t:{ident}:{spec.slug}:*"  # a slug holds no glob characters (TenantSpec checks it)


def tenant_keys_purge(spec: TenantSpec, *, every_incarnation: bool = False) -> None:
    """Delete the cache keys of the incarnation `spec` (best effort: its keys are unreachable anyway).

    With `every_incarnation`, delete those of every tenant that ever had its slug.
    """
    pattern = tenant_key_pattern(spec, cache.key_prefix, every_incarnation=every_incarnation)
    try:
        cache.delete_pattern(CacheKey(pattern))  # type: ignore[attr-defined]  # a CacheKey is used as given
    except Exception:  # a deletion must not fail over its cache: the keys expire and no one can read them
        logger.exception("could not purge the cache keys of tenant %s", spec.slug)

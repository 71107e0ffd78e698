"""Cache keys that can never collide between tenants (django-redis KEY_FUNCTION)."""

from __future__ import annotations

from routers.context import current_tenant_or_none


def make_key(key: str, key_prefix: str, version: int | str) -> str:
    """Prefix `key` with the current tenant (`t:<slug>`) or the control plane (`c`)."""
    spec = current_tenant_or_none()
    scope = f"t:{spec.slug}" if spec else "c"
    return f"{key_prefix}:{version}:{scope}:{key}"


def tenant_key_pattern(slug: str, key_prefix: str = "") -> str:
    """Return a glob matching every cache key of tenant `slug` (for deletion)."""
    return f"{key_prefix}:*:t:{slug}:*"

"""Per-tenant rate limits: one bucket per tenant and one per tenant user.

The cache key function scopes every key to the current tenant, so buckets of
two tenants never mix. Rates are read from `settings.TENANT_THROTTLE_RATES`
on each request. When Redis is down the cache answers misses and requests
are let through: rate limiting degrades, the API does not.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from routers import current_tenant_or_none


class TenantRateThrottle(SimpleRateThrottle):
    scope = "tenant"

    def get_rate(self) -> str | None:
        return settings.TENANT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if current_tenant_or_none() is None:
            return None  # the platform API is not tenant-limited
        return f"throttle:{self.scope}"


class TenantUserRateThrottle(TenantRateThrottle):
    scope = "tenant_user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if current_tenant_or_none() is None or not request.user or not request.user.is_authenticated:
            return None
        return f"throttle:{self.scope}:{request.user.pk}"

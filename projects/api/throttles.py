"""Per-tenant rate limits: one bucket per tenant, one per tenant user, one per anonymous IP.

Only signed-in requests draw on the tenant-wide bucket: anonymous requests
(sign-ins among them) have a bucket per client IP, so a flood of bad sign-ins
throttles the flood and never the tenant's users. The cache key function
scopes every key to the current tenant, so buckets of two tenants never mix.
The tenant-wide and per-user rates come from the tenant's plan (`TENANT_PLANS`,
through the plan name in its spec), read on each request so a plan change
applies at the next one; `settings.TENANT_THROTTLE_RATES` stays the
platform-wide ceiling of each scope (the lower rate wins) and alone sets the
anonymous rate. When Redis is down the cache answers misses and requests are
let through: rate limiting degrades, the API does not.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from core.clients import client_ip
from core.plans import plan_limits, rate_per_second
from routers import current_tenant_or_none

PLAN_RATES = {"tenant": "api_rate", "tenant_user": "user_rate"}  # throttle scope -> plan limit


def _signed_in(request: Any) -> bool:
    return bool(request.user and request.user.is_authenticated)


class TenantRateThrottle(SimpleRateThrottle):
    scope = "tenant"

    def get_rate(self) -> str | None:
        """Return the lower of the tenant plan's rate and the platform ceiling for this scope."""
        ceiling: str | None = settings.TENANT_THROTTLE_RATES.get(self.scope)
        spec = current_tenant_or_none()
        if spec is None or self.scope not in PLAN_RATES:
            return ceiling
        planned: str = getattr(plan_limits(spec.plan), PLAN_RATES[self.scope])
        if ceiling is None or rate_per_second(planned) < rate_per_second(ceiling):
            return planned
        return ceiling

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if current_tenant_or_none() is None or not _signed_in(request):
            return None  # the platform API is not tenant-limited; anonymous has its own bucket
        return f"throttle:{self.scope}"


class TenantUserRateThrottle(TenantRateThrottle):
    scope = "tenant_user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if current_tenant_or_none() is None or not _signed_in(request):
            return None
        return f"throttle:{self.scope}:{request.user.pk}"


class TenantAnonRateThrottle(TenantRateThrottle):
    scope = "tenant_anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if current_tenant_or_none() is None or _signed_in(request):
            return None
        return f"throttle:{self.scope}:{client_ip(request)}"


# Every view of the tenant API draws on these (projects.api.base.ProductView); the core defaults
# (REST_FRAMEWORK) have no throttles, so the platform API never runs product code.
PRODUCT_THROTTLES: list[type[SimpleRateThrottle]] = [TenantRateThrottle, TenantUserRateThrottle,
                                                     TenantAnonRateThrottle]

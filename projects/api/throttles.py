"""Per-tenant rate limits: one bucket per tenant, one per tenant user, one per anonymous IP.

Only signed-in requests draw on the tenant-wide bucket: anonymous requests
(sign-ins among them) have a bucket per client IP, so a flood of bad sign-ins
throttles the flood and never the tenant's users. Keys go through the cache's
key function, which scopes them to the current tenant, so buckets of two
tenants never mix. The tenant-wide and per-user rates come from the tenant's
plan (`TENANT_PLANS`, through the plan name in its spec), read on each request
so a plan change applies at the next one; `settings.TENANT_THROTTLE_RATES`
stays the platform-wide ceiling of each scope (the lower rate wins) and alone
sets the anonymous rate.

A bucket is a generic cell rate algorithm (GCRA) in Redis: one number per
bucket, the time at which it is empty again. A rate of N per period lets N
requests through at once, then one every period/N. All of a request's buckets
are checked and charged by one Lua script, in one round trip, atomically: two
app servers never both take the last slot, and a refused request charges no
bucket. (DRF's `SimpleRateThrottle` reads and writes back a list of every
timestamp in the window: at a tenant's 6,000/min that list is 6,000 floats
unpickled and pickled twice a request, and concurrent requests overwrite each
other's counts.) When Redis is down, requests are let through for
`RETRY_AFTER_FAILURE` seconds before it is asked again: rate limiting degrades,
the API does not.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.throttling import BaseThrottle

from core.clients import client_ip
from core.plans import parse_rate, plan_limits, rate_per_second
from routers import current_tenant_or_none

logger = logging.getLogger(__name__)

PLAN_RATES = {"tenant": "api_rate", "tenant_user": "user_rate"}  # throttle scope -> plan limit
RETRY_AFTER_FAILURE = 1.0  # seconds requests go unlimited after Redis failed to answer

# KEYS: the buckets. ARGV: per bucket, the interval between requests and the burst tolerance
# (period - interval), in microseconds. Returns 0 (allowed, every bucket charged) or the
# microseconds until the fullest bucket lets one more through (nothing charged).
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local due, wait = {}, 0
for i, key in ipairs(KEYS) do
  local tat = tonumber(redis.call('GET', key) or 0)
  if tat < now then tat = now end
  due[i] = tat
  local over = tat - now - tonumber(ARGV[2 * i])
  if over > wait then wait = over end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local tat = due[i] + tonumber(ARGV[2 * i - 1])
  redis.call('SET', key, string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return 0
"""


class _RedisState:
    """The registered script and the pause after a failure (process-wide)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.script: Any = None
        self.paused_until: dict[str, float] = {}  # per Redis location: a pause is the failed server's

    def run(self, keys: list[str], args: list[int]) -> int | None:
        """Run the script on the cache's Redis; return its answer, or None when Redis did not answer."""
        location = str(settings.CACHES["default"].get("LOCATION", ""))
        if time.monotonic() < self.paused_until.get(location, 0.0):
            return None
        try:
            client = get_redis_connection("default")
            if self.script is None:
                with self.lock:
                    self.script = self.script or client.register_script(GCRA)
            return int(self.script(keys=keys, args=args, client=client))
        except (redis.RedisError, OSError) as exc:
            self.paused_until[location] = time.monotonic() + RETRY_AFTER_FAILURE
            logger.warning("rate limits not checked for %.0f s (Redis: %s)", RETRY_AFTER_FAILURE, exc)
            return None


state = _RedisState()


def rate_for(scope: str) -> str | None:
    """Return the lower of the tenant plan's rate and the platform ceiling for `scope` (None: unlimited)."""
    ceiling: str | None = settings.TENANT_THROTTLE_RATES.get(scope)
    spec = current_tenant_or_none()
    if spec is None or scope not in PLAN_RATES:
        return ceiling
    planned: str = getattr(plan_limits(spec.plan), PLAN_RATES[scope])
    if ceiling is None or rate_per_second(planned) < rate_per_second(ceiling):
        return planned
    return ceiling


def _signed_in(request: Any) -> bool:
    return bool(request.user and request.user.is_authenticated)


class TenantRateThrottle(BaseThrottle):
    """Every bucket a tenant API request draws on, checked and charged in one Redis round trip."""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def buckets(self, request: Any) -> list[tuple[str, str]]:
        """Return (key, rate) of each bucket this request draws on (none outside a tenant)."""
        if current_tenant_or_none() is None:
            return []  # the platform API is not tenant-limited
        if _signed_in(request):
            wanted = [("tenant", "throttle:tenant"), ("tenant_user", f"throttle:tenant_user:{request.user.pk}")]
        else:
            wanted = [("tenant_anon", f"throttle:tenant_anon:{client_ip(request)}")]
        return [(key, rate) for scope, key in wanted if (rate := rate_for(scope)) is not None]

    def allow_request(self, request: Any, view: Any) -> bool:
        buckets = self.buckets(request)
        if not buckets:
            return True
        keys, args = [], []
        for key, rate in buckets:
            count, period = parse_rate(rate)
            interval = period * 1_000_000 // max(count, 1)
            keys.append(cache.make_key(key))  # tenant-scoped (routers.cache.make_key)
            args += [interval, period * 1_000_000 - interval]
        waited = state.run(keys, args)
        if not waited:
            return True  # allowed, or Redis down
        self.wait_seconds = max(1.0, math.ceil(waited / 1_000_000))
        return False

    def wait(self) -> float | None:
        return self.wait_seconds


# Every view of the tenant API draws on these (projects.api.base.ProductView); the core defaults
# (REST_FRAMEWORK) have no throttles, so the platform API never runs product code.
PRODUCT_THROTTLES: list[type[BaseThrottle]] = [TenantRateThrottle]

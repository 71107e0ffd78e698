"""The tenant API's rate limits are atomic buckets in Redis (projects.api.throttles, real Redis)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django_redis import get_redis_connection

from routers import tenant_context
from tenants.resolution import active_spec
from tests.projects.conftest import TenantWorld, as_user

UNLIMITED = "1000000/min"


def empty_buckets(world: TenantWorld, who: str) -> list[str]:
    """Delete the tenant-wide and `who`'s buckets of `world`; return their Redis keys."""
    spec = active_spec(world.spec.slug)  # as requests resolve it: the key names the tenant's id
    assert spec is not None
    with tenant_context(spec):
        keys = [cache.make_key("throttle:tenant"), cache.make_key(f"throttle:tenant_user:{world.users[who].pk}")]
    get_redis_connection("default").delete(*keys)
    return keys


def test_parallel_requests_never_pass_more_than_the_limit(product: dict[str, TenantWorld]) -> None:
    beta = product["beta"]
    empty_buckets(beta, "member")

    def call(_: int) -> int:
        try:
            return as_user(beta, "member").get("/api/me/").status_code
        finally:
            connections.close_all()

    limits = {"tenant": UNLIMITED, "tenant_user": "4/min"}
    with override_settings(TENANT_THROTTLE_RATES=limits), ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(call, range(12)))
    # Read-then-write buckets let several parallel requests take the same last slot; one script cannot.
    assert statuses == [200] * 4 + [429] * 8


def test_a_refused_request_charges_nothing_and_waits_one_interval(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    tenant_key, user_key = empty_buckets(alpha, "member")
    member = as_user(alpha, "member")
    with override_settings(TENANT_THROTTLE_RATES={"tenant": UNLIMITED, "tenant_user": "3/min"}):
        assert [member.get("/api/me/").status_code for _ in range(3)] == [200] * 3
        redis = get_redis_connection("default")
        charged = {key: redis.get(key) for key in (tenant_key, user_key)}
        assert all(value is not None and value.isdigit() for value in charged.values())  # one number a bucket
        refused = member.get("/api/me/")
        assert refused.status_code == 429 and refused.json()["code"] == "throttled"
        # 3 a minute: one slot frees every 20 s, not when a whole minute has passed.
        assert 1 <= int(refused["Retry-After"]) <= 20
        assert {key: redis.get(key) for key in (tenant_key, user_key)} == charged
    empty_buckets(alpha, "member")

"""Cache keys are scoped per tenant in the real Redis."""

from __future__ import annotations

from django.core.cache import cache

from routers import TenantSpec, tenant_context
from routers.cache import make_key


def test_keys_differ_per_tenant_and_for_the_control_plane(tenants: dict[str, TenantSpec]) -> None:
    control = make_key("stats", "", 1)
    with tenant_context(tenants["alpha"]):
        alpha = make_key("stats", "", 1)
    with tenant_context(tenants["beta"]):
        beta = make_key("stats", "", 1)
    assert len({control, alpha, beta}) == 3
    assert alpha == ":1:t:alpha:stats" and control == ":1:c:stats"


def test_a_value_cached_by_one_tenant_is_invisible_to_another(tenants: dict[str, TenantSpec]) -> None:
    with tenant_context(tenants["alpha"]):
        cache.set("project-stats", {"open": 3})
    with tenant_context(tenants["beta"]):
        assert cache.get("project-stats") is None
    assert cache.get("project-stats") is None
    with tenant_context(tenants["alpha"]):
        assert cache.get("project-stats") == {"open": 3}
        cache.delete("project-stats")

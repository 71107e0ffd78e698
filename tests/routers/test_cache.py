"""Cache keys are scoped per tenant in the real Redis."""

from __future__ import annotations

from django.core.cache import cache

from routers import TenantSpec, tenant_context
from routers.cache import make_key, tenant_keys_purge


def test_keys_differ_per_tenant_and_for_the_control_plane(tenants: dict[str, TenantSpec]) -> None:
    control = make_key("stats", "", 1)
    with tenant_context(tenants["alpha"]):
        alpha = make_key("stats", "", 1)
    with tenant_context(tenants["beta"]):
        beta = make_key("stats", "", 1)
    assert len({control, alpha, beta}) == 3
    assert alpha == ":1:t:0:alpha:stats" and control == ":1:c:stats"


def test_a_value_cached_by_one_tenant_is_invisible_to_another(tenants: dict[str, TenantSpec]) -> None:
    with tenant_context(tenants["alpha"]):
        cache.set("project-stats", {"open": 3})
    with tenant_context(tenants["beta"]):
        assert cache.get("project-stats") is None
    assert cache.get("project-stats") is None
    with tenant_context(tenants["alpha"]):
        assert cache.get("project-stats") == {"open": 3}
        cache.delete("project-stats")


def test_a_tenant_recreated_under_the_same_slug_never_reads_its_predecessors_keys(
        tenants: dict[str, TenantSpec]) -> None:
    alpha = tenants["alpha"]
    before, after = (TenantSpec(alpha.slug, alpha.server, alpha.database, tenant_id=n) for n in (41, 42))
    with tenant_context(before):
        cache.set("project-stats:1:v1", {"open": 3})
    with tenant_context(after):
        assert cache.get("project-stats:1:v1") is None
        cache.set("project-stats:1:v1", {"open": 0})
    tenant_keys_purge(before)
    with tenant_context(before):
        assert cache.get("project-stats:1:v1") is None
    with tenant_context(after):
        assert cache.get("project-stats:1:v1") == {"open": 0}  # the purge is scoped to one incarnation
        cache.delete("project-stats:1:v1")

"""Stats cache in Redis (and Redis down), per-tenant throttling, the OpenAPI schema and docs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from routers import tenant_context
from tests.conftest import free_port
from tests.projects.conftest import TenantWorld, as_user


def dead_redis() -> dict[str, Any]:
    """Return CACHES as configured, but pointing at a loopback port where no Redis listens."""
    real = settings.CACHES["default"]
    return {"default": {**real, "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}


def test_stats_are_cached_per_tenant_and_invalidated_by_writes(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    path = f"/api/projects/{alpha.project.pk}/stats/"
    first = member.get(path).json()
    assert first["cached"] is False and first["total"] == 1 and first["members"] == 2
    assert member.get(path).json()["cached"] is True
    member.post("/api/tasks/", {"project": alpha.project.pk, "title": "new"})
    fresh = member.get(path).json()
    assert fresh["cached"] is False and fresh["total"] == 2 and fresh["open"] == 2
    # beta's project with the same id has its own, separately cached numbers
    beta = as_user(product["beta"], "admin").get(f"/api/projects/{product['beta'].project.pk}/stats/").json()
    assert beta["cached"] is False and beta["total"] == 1


def test_membership_changes_refresh_the_cached_stats(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    admin, outsider = as_user(alpha, "admin"), alpha.users["outsider"].pk
    path = f"/api/projects/{alpha.project.pk}/stats/"
    assert admin.get(path).json()["members"] == 2 and admin.get(path).json()["cached"] is True
    admin.post(f"/api/projects/{alpha.project.pk}/members/", {"user": outsider, "role": "viewer"})
    added = admin.get(path).json()
    assert added["cached"] is False and added["members"] == 3
    admin.post(f"/api/projects/{alpha.project.pk}/members/", {"user": outsider, "role": None})
    assert admin.get(path).json()["members"] == 2


def test_the_api_still_serves_when_redis_is_down(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    path = f"/api/projects/{alpha.project.pk}/stats/"
    assert member.get(path).json()["cached"] is False and member.get(path).json()["cached"] is True
    # Django rebuilds its cache handlers when CACHES changes (django.test.signals), so every
    # `cache` user (stats, throttles, tenant resolution) now talks to a port nobody listens on.
    with override_settings(CACHES=dead_redis()):
        with tenant_context(alpha.spec):
            cache.set("probe", 1)
            assert cache.get("probe") is None  # really no cache
        for _ in range(2):
            stats = member.get(path)
            assert stats.status_code == 200 and stats.json()["cached"] is False
        assert member.get("/api/tasks/").status_code == 200
        created = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "offline cache"})
        assert created.status_code == 201
        assert as_user(product["beta"], "member").get("/api/me/").status_code == 200
    # Redis is back: caching resumes (the stale entry was never written, the write invalidated it).
    back = member.get(path).json()
    assert back["total"] == 2
    assert member.get(path).json()["cached"] is True


def test_each_tenant_has_its_own_rate_limit(product: dict[str, TenantWorld]) -> None:
    with override_settings(TENANT_THROTTLE_RATES={"tenant": "3/min", "tenant_user": "100/min"}):
        alpha = as_user(product["alpha"], "member")
        statuses = [alpha.get("/api/me/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = alpha.get("/api/me/")
        assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
        assert as_user(product["beta"], "member").get("/api/me/").status_code == 200


def test_openapi_schema_and_docs_cover_both_apis(product: dict[str, TenantWorld]) -> None:
    client = as_user(product["alpha"], "member").client
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and schema["Content-Type"].startswith("application/vnd.oai.openapi+json")
    paths = schema.json()["paths"]
    for path in ("/api/platform/tenants/", "/api/platform/tenants/{slug}/suspend/", "/api/platform/servers/",
                 "/api/tasks/", "/api/tasks/{id}/comments/", "/api/projects/{id}/stats/", "/api/exports/",
                 "/api/auth/token/", "/api/me/"):
        assert path in paths, path
    assert client.get("/api/docs/").status_code == 200

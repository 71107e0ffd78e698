"""Stats cache in Redis (and Redis down), per-tenant throttling, CSV exports through a real worker."""

from __future__ import annotations

import csv
import io
import time

from django.core.cache import caches
from django.test import override_settings

from tests.projects.conftest import TenantWorld, as_user

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_FUNCTION": "routers.cache.make_key",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.2,
                    "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
    }
}


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


def test_the_api_still_serves_when_redis_is_down(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    with override_settings(CACHES=DEAD_REDIS):
        caches._settings = caches.settings = caches.configure_settings(None)  # type: ignore[attr-defined]
        try:
            stats = member.get(f"/api/projects/{alpha.project.pk}/stats/")
            assert stats.status_code == 200 and stats.json()["cached"] is False
            assert member.get("/api/tasks/").status_code == 200
            created = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "offline cache"})
            assert created.status_code == 201
        finally:
            del caches._settings  # type: ignore[attr-defined]
    caches.close_all()


def test_each_tenant_has_its_own_rate_limit(product: dict[str, TenantWorld]) -> None:
    with override_settings(TENANT_THROTTLE_RATES={"tenant": "3/min", "tenant_user": "100/min"}):
        alpha = as_user(product["alpha"], "member")
        statuses = [alpha.get("/api/me/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = alpha.get("/api/me/")
        assert limited.json()["code"] == "throttled" and int(limited["Retry-After"]) > 0
        assert as_user(product["beta"], "member").get("/api/me/").status_code == 200


def test_exports_run_in_the_worker_with_progress_and_download(product: dict[str, TenantWorld],
                                                             celery_worker_process: object) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    for i in range(5):
        member.post("/api/tasks/", {"project": alpha.project.pk, "title": f"export me {i}"})
    queued = member.post("/api/exports/", {"project": alpha.project.pk})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    export_id = queued.json()["id"]
    assert member.get(f"/api/exports/{export_id}/download/").status_code in (200, 409)
    deadline, body = time.monotonic() + 20, {}
    while time.monotonic() < deadline:
        body = member.get(f"/api/exports/{export_id}/").json()
        if body["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert body["status"] == "done" and body["progress"] == 1.0 and body["rows_total"] == 6, body
    download = member.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0][:3] == ["id", "project", "title"] and len(rows) == 7
    assert {r[1] for r in rows[1:]} == {"MAIN"}
    # Another user of the tenant does not see it; another tenant cannot reach it.
    assert as_user(alpha, "viewer").get(f"/api/exports/{export_id}/").status_code == 404
    assert as_user(alpha, "admin").get(f"/api/exports/{export_id}/").status_code == 200
    bad = member.post("/api/exports/", {"status": "nope"})
    assert bad.status_code == 400


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

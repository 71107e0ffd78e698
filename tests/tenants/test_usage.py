"""Usage metering: counted in the real Redis per request, flushed exactly once into TenantUsageDay, never a 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.metering import dropped
from tenants import usage
from tenants.models import Tenant, TenantUsageDay
from tests.conftest import free_port
from tests.projects.conftest import TenantWorld, as_user, product  # noqa: F401 - the two-tenant product fixture
from tests.tenants.conftest import Api, Background


def _clear_keys() -> None:
    conn = usage.client.get()
    keys = list(conn.scan_iter(f"{usage.PREFIX}:*"))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def metering() -> Iterator[None]:
    """Start with no counts in Redis (earlier tests' requests counted tenants whose ids are reused)."""
    usage.client.reset()
    _clear_keys()
    yield
    usage.client.reset()
    _clear_keys()


def day_of(world: TenantWorld) -> TenantUsageDay:
    return TenantUsageDay.objects.get(tenant__slug=world.spec.slug, day=timezone.now().date())


def test_requests_writes_users_and_exports_are_counted_per_tenant(product: dict[str, TenantWorld],
                                                                  metering: None) -> None:
    alpha, beta = product["alpha"], product["beta"]
    member, viewer = as_user(alpha, "member"), as_user(alpha, "viewer")
    for _ in range(3):
        assert member.get("/api/projects/").status_code == 200
    assert viewer.get("/api/me/").status_code == 200
    assert member.post("/api/exports/", {}).status_code == 202
    assert as_user(beta, "admin").get("/api/me/").status_code == 200
    assert as_user(alpha, None).get("/api/me/").status_code == 401  # anonymous: a request, no user
    usage.usage_flush()
    row = day_of(alpha)
    assert (row.requests, row.write_requests, row.exports, row.active_users) == (6, 1, 1, 2)
    assert row.database_bytes and row.database_bytes > 1_000_000  # pg_database_size of a real database
    assert (day_of(beta).requests, day_of(beta).active_users) == (1, 1)


def test_flushing_twice_or_concurrently_counts_each_request_once(product: dict[str, TenantWorld],
                                                                 metering: None) -> None:
    alpha = product["alpha"]
    client = as_user(alpha, "member")
    for _ in range(5):
        client.get("/api/me/")
    usage.usage_flush()
    usage.usage_flush()
    assert day_of(alpha).requests == 5
    for _ in range(7):
        client.get("/api/me/")
    barrier = threading.Barrier(3)

    def flush() -> object:
        barrier.wait(timeout=60)
        return usage.usage_flush()

    flushers = [Background(flush) for _ in range(3)]
    for flusher in flushers:
        flusher.start()
    for flusher in flushers:
        flusher.join(timeout=120)
    assert day_of(alpha).requests == 12 and day_of(alpha).active_users == 1


def test_with_redis_unreachable_requests_succeed_and_the_drop_is_counted(product: dict[str, TenantWorld],
                                                                         metering: None) -> None:
    alpha = product["alpha"]
    before = dropped.snapshot().get("usage", 0)
    with override_settings(USAGE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        for _ in range(3):
            assert as_user(alpha, "member").get("/api/me/").status_code == 200
        assert as_user(alpha, "member").post("/api/projects/", {"name": "Offline", "key": "OFF"}).status_code == 201
    assert dropped.snapshot()["usage"] == before + 4  # the first failed, the others skipped Redis (paused)
    usage.client.reset()
    assert as_user(alpha, "member").get("/api/me/").status_code == 200  # Redis back: counted again
    usage.usage_flush()
    assert day_of(alpha).requests == 1


def test_metering_off_counts_nothing(product: dict[str, TenantWorld], metering: None) -> None:
    with override_settings(USAGE_METERING_ENABLED=False):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
    assert usage.usage_flush()["flushed"] == 0


# --- API ----------------------------------------------------------------------------------

@pytest.fixture
def usage_rows(servers: None) -> dict[str, Tenant]:
    from tests.factories import TenantFactory

    today = timezone.now().date()
    small, big = TenantFactory(slug="p-small"), TenantFactory(slug="p-big")
    for back in range(3):
        TenantUsageDay.objects.create(tenant=small, day=today - timedelta(days=back), requests=10, write_requests=1,
                                      exports=0, active_users=2, database_bytes=100)
    TenantUsageDay.objects.create(tenant=big, day=today, requests=5, write_requests=5, exports=3, active_users=9,
                                  database_bytes=900)
    TenantUsageDay.objects.create(tenant=big, day=today - timedelta(days=40), requests=1000)
    return {"small": small, "big": big}


@pytest.fixture
def admin_api(servers: None) -> Api:
    user = User.objects.create_user("usage-admin", password="usage-pw-1", is_staff=True, is_superuser=True)
    return Api(Client(), Token.objects.create(user=user).key)


def test_a_tenants_usage_is_listed_per_day_in_the_range(admin_api: Api, usage_rows: Any) -> None:
    today = timezone.now().date()
    body = admin_api.get(f"/api/platform/tenants/p-small/usage/?from={today - timedelta(days=1)}&to={today}").json()
    assert [row["day"] for row in body["days"]] == [str(today - timedelta(days=1)), str(today)]
    assert body["days"][0] == {"day": str(today - timedelta(days=1)), "requests": 10, "write_requests": 1,
                               "exports": 0, "active_users": 2, "database_bytes": 100}
    assert len(admin_api.get("/api/platform/tenants/p-small/usage/").json()["days"]) == 3  # last 30 days
    assert admin_api.get("/api/platform/tenants/p-none/usage/").status_code == 404


@pytest.mark.parametrize("query", ["from=2026-13-01", "to=yesterday", "from=2026-01-02&to=2026-01-01",
                                   "from=2020-01-01&to=2026-01-01", "from=20260101", "ordering=slug",
                                   "ordering=--requests"])
def test_bad_ranges_and_orderings_are_400(admin_api: Api, usage_rows: Any, query: str) -> None:
    response = admin_api.get(f"/api/platform/usage/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "validation_error", response.content


def test_the_fleet_usage_is_summed_and_sorted_by_each_measure(admin_api: Api, usage_rows: Any,
                                                              django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(2):  # the token with its user, the page
        body = admin_api.get("/api/platform/usage/").json()
    assert [(row["tenant"], row["requests"]) for row in body["results"]] == [("p-small", 30), ("p-big", 5)]
    for measure, first in (("-write_requests", "p-big"), ("write_requests", "p-small"), ("-exports", "p-big"), ("exports", "p-small"),
                           ("-active_users", "p-big"), ("database_bytes", "p-small")):
        rows = admin_api.get(f"/api/platform/usage/?ordering={measure}").json()["results"]
        assert rows[0]["tenant"] == first, measure
    page = admin_api.get("/api/platform/usage/?page_size=1&ordering=-requests").json()
    assert page["results"][0]["tenant"] == "p-small"
    assert admin_api.get(page["next"]).json()["results"][0]["tenant"] == "p-big"


def test_usage_takes_its_view_permission(servers: None) -> None:
    staff = User.objects.create_user("ops", password="ops-pw-1", is_staff=True)
    api = Api(Client(), Token.objects.create(user=staff).key)
    assert api.get("/api/platform/usage/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_tenantusageday"))
    assert api.get("/api/platform/usage/").status_code == 200

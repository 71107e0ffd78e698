"""Usage metering on the tenant API: counted in the real Redis per request, flushed exactly once, never a 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.utils import timezone

from core.metering import dropped
from tenants import usage
from tenants.models import TenantUsageDay
from tests.conftest import free_port
from tests.projects.conftest import TenantWorld, as_user
from tests.tenants.conftest import Background


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


@pytest.mark.usefixtures("metering")
def test_requests_writes_users_and_exports_are_counted_per_tenant(product: dict[str, TenantWorld]) -> None:
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


@pytest.mark.usefixtures("metering")
def test_flushing_twice_or_concurrently_counts_each_request_once(product: dict[str, TenantWorld]) -> None:
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


@pytest.mark.usefixtures("metering")
def test_with_redis_unreachable_requests_succeed_and_the_drop_is_counted(product: dict[str, TenantWorld]) -> None:
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


@pytest.mark.usefixtures("metering")
def test_metering_off_counts_nothing(product: dict[str, TenantWorld]) -> None:
    with override_settings(USAGE_METERING_ENABLED=False):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
    assert usage.usage_flush()["flushed"] == 0

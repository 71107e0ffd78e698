"""Usage metering on the tenant API: counted in the process, summed in the real Redis, flushed exactly once,
never a 500, nothing dropped while Redis is away."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from django.test import override_settings
from django.utils import timezone

from core.metering import dropped
from tenants import usage
from tenants.models import TenantUsageDay
from tests.conftest import free_port, wait_for
from tests.projects.conftest import TenantWorld, as_user
from tests.tenants.conftest import Background


def _clear_keys() -> None:
    conn = usage.client.get()
    keys = list(conn.scan_iter(f"{usage.PREFIX}:*"))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def metering() -> Iterator[None]:
    """Start with no counts in Redis or in the buffer (earlier tests' requests counted tenants whose ids
    are reused)."""
    usage.buffer.reset()
    usage.client.reset()
    _clear_keys()
    yield
    usage.buffer.reset()
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
def test_with_redis_unreachable_requests_succeed_and_their_counts_wait(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    before = dropped.snapshot().get("usage", 0)
    with override_settings(USAGE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        for _ in range(3):
            assert as_user(alpha, "member").get("/api/me/").status_code == 200
        assert as_user(alpha, "member").post("/api/projects/", {"name": "Offline", "key": "OFF"}).status_code == 201
        assert usage.buffer.send() is False  # Redis refused the batch: it stays in the buffer
        assert usage.buffer.pending() == 1
    assert dropped.snapshot().get("usage", 0) == before  # nothing lost
    usage.client.reset()
    assert as_user(alpha, "member").get("/api/me/").status_code == 200  # Redis back: everything goes
    usage.usage_flush()
    assert (day_of(alpha).requests, day_of(alpha).write_requests) == (5, 1)


@pytest.mark.usefixtures("metering")
def test_a_full_buffer_drops_new_tenant_days_and_counts_them(product: dict[str, TenantWorld]) -> None:
    before = dropped.snapshot().get("usage", 0)
    with override_settings(USAGE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", USAGE_BUFFER_MAX_KEYS=1):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
        assert usage.buffer.send() is False
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200  # same tenant-day: kept
        assert as_user(product["beta"], "admin").get("/api/me/").status_code == 200  # a second one: dropped
    assert dropped.snapshot()["usage"] == before + 1
    usage.client.reset()
    usage.usage_flush()
    assert day_of(product["alpha"]).requests == 2
    assert day_of(product["beta"]).requests == 0  # its row holds the database size the flush sampled


@pytest.mark.usefixtures("metering")
def test_the_buffer_thread_sends_the_counts_without_being_asked(product: dict[str, TenantWorld]) -> None:
    with override_settings(USAGE_BUFFER_SECONDS=0.05):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
        wait_for(lambda: usage.buffer.pending() == 0 and list(usage.client.get().scan_iter(f"{usage.PREFIX}:*")),
                 30, "the counts in Redis")
    assert usage.buffer.pending() == 0


@pytest.mark.usefixtures("metering")
def test_with_no_buffer_period_each_request_sends_its_own_counts(product: dict[str, TenantWorld]) -> None:
    with override_settings(USAGE_BUFFER_SECONDS=0):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
        assert usage.buffer.pending() == 0
        assert list(usage.client.get().scan_iter(f"{usage.PREFIX}:*"))


@pytest.mark.usefixtures("metering")
def test_a_forked_child_starts_with_an_empty_buffer(product: dict[str, TenantWorld]) -> None:
    with override_settings(USAGE_BUFFER_SECONDS=3600):  # the thread never sends during the test
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
        assert usage.buffer.pending() == 1
        pid = os.fork()
        if pid == 0:  # the child: its parent's counts are not its to send
            os._exit(0 if usage.buffer.pending() == 0 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert usage.buffer.pending() == 1  # the parent still has them


@pytest.mark.usefixtures("metering")
def test_metering_off_counts_nothing(product: dict[str, TenantWorld]) -> None:
    with override_settings(USAGE_METERING_ENABLED=False):
        assert as_user(product["alpha"], "member").get("/api/me/").status_code == 200
    assert usage.usage_flush()["flushed"] == 0

"""Tenant tasks run in a real worker inside their tenant, reading the writes of whoever queued them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from django_redis.util import CacheKey

from core.logging import request_id_var
from projects.models import Project
from routers import TenantContextMissing, TenantSpec, consistency, tenant_context
from routers.cache import tenant_key_pattern
from tenants import services
from tests.conftest import ROOT
from tests.factories import TenantFactory
from tests.fleetapp.tasks import read_project_by_key
from tests.routers.helpers import replay_paused

WORKER_LOG = ROOT / ".local" / "log" / "test-worker.log"


@pytest.fixture
def alpha(tenants: dict[str, TenantSpec], control_db: None) -> TenantSpec:
    services.servers_sync()
    spec = tenants["alpha"]  # server a: has a streaming replica
    row = TenantFactory.for_spec(spec)
    # The worker resolves the slug to this row: its cache keys carry the row's id.
    return TenantSpec(spec.slug, spec.server, spec.database, tenant_id=row.pk)


def _cached_in_any_incarnation(spec: TenantSpec, key: str) -> Any:
    """Return what a task cached under `key` for `spec`'s slug, whichever tenant id the worker resolved."""
    pattern = tenant_key_pattern(spec, cache.key_prefix, every_incarnation=True)
    raw = [k.decode() for k in get_redis_connection("default").keys(pattern)]
    found = [k for k in raw if k.endswith(f":{key}")]
    return cache.get(CacheKey(found[0])) if found else None  # a CacheKey is used as given


def _seen_by_worker(spec: TenantSpec, marker: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen = _cached_in_any_incarnation(spec, f"seen:{marker}")
        if seen is not None:
            return seen  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError("the worker did not run the task")


def test_a_task_reads_the_write_of_the_request_that_queued_it(
    alpha: TenantSpec, celery_worker_process: object,
) -> None:
    with replay_paused():
        with consistency.read_scope(), tenant_context(alpha):
            Project.objects.create(name="queued after a write", key="QW")
            read_project_by_key.delay("QW", marker := uuid.uuid4().hex)
        assert _seen_by_worker(alpha, marker) == {"db": "tenant:alpha", "found": True}
        # Queued by a unit of work that wrote nothing: the paused replica is fine for it.
        with consistency.read_scope(), tenant_context(alpha):
            read_project_by_key.delay("QW", marker := uuid.uuid4().hex)
        assert _seen_by_worker(alpha, marker) == {"db": "tenant:alpha:replica", "found": False}


def test_worker_log_lines_name_the_tenant_and_the_request_that_queued_the_task(
    alpha: TenantSpec, celery_worker_process: object,
) -> None:
    marker = uuid.uuid4().hex
    request_id = request_id_var.set(f"req-{marker[:8]}")
    try:
        with consistency.read_scope(), tenant_context(alpha):
            read_project_by_key.delay("none", marker)
    finally:
        request_id_var.reset(request_id)
    _seen_by_worker(alpha, marker)
    deadline = time.monotonic() + 60
    while not (lines := [line for line in WORKER_LOG.read_text().splitlines() if marker in line]):
        assert time.monotonic() < deadline, "the worker logged nothing for the task"
        time.sleep(0.05)
    assert f"[req=req-{marker[:8]} tenant=alpha] probe {marker} done" in lines[0]


def test_a_tenant_task_cannot_be_queued_outside_a_tenant() -> None:
    with pytest.raises(TenantContextMissing):
        read_project_by_key.delay("QW", "nobody")

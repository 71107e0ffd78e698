"""Backfills resume after an interruption; migration runs through the platform API and a real worker."""

from __future__ import annotations

import time

import pytest

from migrations_tooling.backfill import Backfill, register, run_backfill
from migrations_tooling.models import BackfillRecord
from projects.factories import TaskFactory
from projects.models import Task
from routers import tenant_context
from tests.projects.conftest import TenantWorld
from tests.tenants.conftest import Api


def test_a_backfill_resumes_from_its_checkpoint_after_an_interruption(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with tenant_context(alpha.spec):
        TaskFactory.create_batch(9, project=alpha.project, tags=["UX", "Bug"])
    calls = {"batches": 0}

    def lowercase(batch: list[Task]) -> None:
        calls["batches"] += 1
        if calls["batches"] == 3:
            raise RuntimeError("worker lost")  # interrupted mid-way
        for task in batch:
            task.tags = [t.lower() for t in task.tags]
        Task.objects.bulk_update(batch, ["tags"])

    register(Backfill("test.lowercase", queryset=lambda: Task.objects.all(), apply=lowercase, batch_size=3))
    with pytest.raises(RuntimeError):
        run_backfill("test.lowercase", tenants=["alpha"])
    record = BackfillRecord.objects.get(name="test.lowercase", tenant="alpha")
    assert record.status == "failed" and record.rows_done == 6 and "worker lost" in record.error
    assert run_backfill("test.lowercase", tenants=["alpha"]) == {"alpha": 10}
    assert calls["batches"] == 3 + 2  # resumed after the checkpoint: batches 1-2 were not redone
    with tenant_context(alpha.spec):
        assert all(t.tags == [x.lower() for x in t.tags] for t in Task.objects.all())
    assert run_backfill("test.lowercase", tenants=["alpha"]) == {"alpha": 10}  # done stays done


def test_migration_runs_through_the_platform_api(platform: Api, product: dict[str, TenantWorld]) -> None:
    started = platform.post("/api/platform/migration-runs/", {"parallel": 2, "continue_on_error": True})
    assert started.status_code == 202, started.content
    run_id = started.json()["id"]
    deadline, body = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        body = platform.get(f"/api/platform/migration-runs/{run_id}/").json()
        if body["status"] in ("done", "failed", "refused"):
            break
        time.sleep(0.1)
    assert body["status"] == "done", body
    assert {r["database_label"] for r in body["records"]} == {"alpha", "beta"}
    assert body["counts"] == {"skipped": 2}
    assert platform.get("/api/platform/migration-runs/").json()[0]["id"] == run_id
    assert platform.post(f"/api/platform/migration-runs/{run_id}/resume/").status_code == 409
    assert platform.get("/api/platform/migration-runs/999/").status_code == 404
